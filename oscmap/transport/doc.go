// Package transport carries OSC datagrams: UDP reads one socket, hands each
// message to a handler in arrival order (holding bundles with a future time
// tag until they are due), and sends from the same socket, so that a peer
// that answers to the source port reaches the bridge. A filter before
// decoding is the place for an allowlist and a rate limit.
//
//	datagram -> Filter -> codec.Decode (at most codec.MaxMessages) -> scheduler -> Handler
package transport
