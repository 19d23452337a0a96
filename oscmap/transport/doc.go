// Package transport carries OSC datagrams: UDP reads one socket, hands each
// message to a handler in arrival order (holding bundles with a future time
// tag until they are due), and sends from the same socket, so that a peer
// that answers to the source port reaches the bridge. Before decoding, an
// allow list (on Linux also installed in the kernel as a BPF socket filter),
// a per-sender rate limit and a filter drop what must not be decoded.
//
//	datagram -> [kernel: Allow] -> Allow -> Limiter -> Filter -> codec.Decode (at most codec.MaxMessages) -> scheduler -> Handler
package transport
