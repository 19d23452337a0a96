// Package oscmap is the bridge engine between Open Sound Control and GPIO pins.
//
// It is the only package that knows both sides. Incoming UDP datagrams are
// read by package transport and decoded by package codec, their address patterns are matched against the
// addresses of the mapping file, the arguments are coerced to on/off and the
// matching outputs are driven. Debounced input changes go the other way: each
// becomes an OSC message sent to the input's destinations.
//
//	UDP packet -> transport -> codec.Decode -> Match -> Bool -> gpio.Out
//	gpio.In event -> message (i, f, d, h or T) -> Sender -> UDP to destinations
//
// The pieces are usable on their own: Match implements OSC 1.0 address
// patterns without building a regexp from sender input, and Sender keeps one
// long-lived socket for every destination.
package oscmap
