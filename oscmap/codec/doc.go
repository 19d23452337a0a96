// Package codec is the OSC 1.0 wire format: Decode reads a UDP datagram (a
// message, or a bundle flattened into its messages with their due times) in
// one checked pass into go-osc's osc.Message values, Encode writes a message
// with go-osc's encoder after checking that it fits a datagram, Format prints
// a message on one line as liblo's oscdump does, and ParseArg reads a
// command-line word as an argument.
package codec
