package oscmap

import (
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// A Sender sends OSC messages over UDP to any number of destinations from one
// long-lived socket, bound to an ephemeral port on every interface, instead of
// opening a socket per message. The socket is not connected, so an ICMP "port
// unreachable" from a destination that is not listening does not make later
// sends fail. A Sender is safe for concurrent use.
type Sender struct {
	conn *net.UDPConn
	log  *slog.Logger

	mu     sync.Mutex
	addrs  map[string]*net.UDPAddr
	closed bool
}

// NewSender opens the sending socket. log may be nil for slog.Default().
func NewSender(log *slog.Logger) (*Sender, error) {
	if log == nil {
		log = slog.Default()
	}
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, fmt.Errorf("open a UDP socket to send OSC: %w", err)
	}
	log.Debug("OSC sender socket open", "local", conn.LocalAddr().String())
	return &Sender{conn: conn, log: log, addrs: make(map[string]*net.UDPAddr)}, nil
}

// Send encodes m with codec.Encode and sends it to to, a "host:port". The address
// is resolved on first use and kept for the Sender's life: a host name that
// later moves to another IP address needs a new Sender.
func (s *Sender) Send(to string, m *osc.Message) error {
	data, err := codec.Encode(m)
	if err != nil {
		return fmt.Errorf("send to %s: %w", to, err)
	}
	ua, err := s.resolve(to)
	if err != nil {
		return err
	}
	if _, err := s.conn.WriteToUDP(data, ua); err != nil {
		return fmt.Errorf("send %s to %s: %w", m.Address, to, err)
	}
	return nil
}

func (s *Sender) resolve(to string) (*net.UDPAddr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("send to %s: the sender is closed", to)
	}
	if ua, ok := s.addrs[to]; ok {
		return ua, nil
	}
	if _, _, err := net.SplitHostPort(to); err != nil {
		return nil, fmt.Errorf("destination %q is not host:port (like 127.0.0.1:5006): %w", to, err)
	}
	ua, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		return nil, fmt.Errorf("destination %q: %w", to, err)
	}
	if ua.Port == 0 {
		return nil, fmt.Errorf("destination %q: port 0 cannot receive: give the port the receiver listens on", to)
	}
	s.addrs[to] = ua
	s.log.Debug("OSC destination resolved", "to", to, "addr", ua.String())
	return ua, nil
}

// Close closes the socket. Sends after Close fail. Close may be called more
// than once.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.conn.Close()
}
