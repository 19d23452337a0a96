// Package discovery advertises the bridge on the local network with DNS-SD
// over multicast DNS, through the Avahi daemon's D-Bus API, so that TouchOSC,
// Chataigne, Vezér or ossia score find it without an address typed in.
//
// It never runs an mDNS responder of its own: two mDNS stacks on one host
// fight over port 5353 (Avahi logs "Detected another IPv4 mDNS stack"), and
// on Raspberry Pi OS avahi-daemon already runs. Where Avahi is missing or
// refuses, the bridge logs one warning and runs on, not advertised.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	avahi "github.com/holoplot/go-avahi"
)

// The DNS-SD service types advertised: OSC over UDP, and OSCQuery's
// JSON-over-HTTP (Vidvox OSCQueryProposal: "_oscjson._tcp").
const (
	TypeOSC     = "_osc._udp"
	TypeOSCJSON = "_oscjson._tcp"
)

// TXT is the one string of both services' TXT record (OSC 1.1's proposed
// txtvers=1).
const TXT = "txtvers=1"

const (
	avahiName = "org.freedesktop.Avahi"
	// maxRenames bounds the renames after name collisions ("… #2", "… #3").
	maxRenames = 12
	// closeWait bounds how long Close waits for Avahi to withdraw the
	// services: a hung daemon must not hold up the bridge's exit.
	closeWait = 2 * time.Second
)

// Service is what the bridge advertises: one DNS-SD instance name, the OSC
// port and the HTTP port, published together in one Avahi entry group.
type Service struct {
	// Name is the instance name; "" means DefaultName(). A name longer
	// than a DNS label (63 bytes), which Avahi refuses, is cut there.
	Name string
	// OSCPort is the UDP port OSC is received on, advertised as _osc._udp.
	// 0 advertises nothing.
	OSCPort int
	// HTTPPort is the TCP port of the HTTP (OSCQuery) server, advertised as
	// _oscjson._tcp; 0 means there is none, and only _osc._udp is advertised.
	HTTPPort int
	// Listen is the IP address the bridge is bound to; it says where the
	// services are published. Unspecified (0.0.0.0, ::) or the zero value:
	// on every interface Avahi uses. A loopback address: on the loopback
	// interface only, since only programs on this computer can reach the
	// bridge (published on the LAN, the host's LAN address would be
	// advertised, where nothing answers). Any other address: on the
	// interface that holds it, for its IP family only.
	Listen netip.Addr
	// HTTPListen is the IP address the HTTP server is bound to: it says
	// where _oscjson._tcp is published, as Listen does for _osc._udp (a
	// dashboard on 127.0.0.1 is not advertised to the network when OSC
	// listens on 0.0.0.0). The zero value: as Listen.
	HTTPListen netip.Addr
}

// ServiceAt is the Service of a bridge receiving OSC on osc (a *net.UDPAddr
// from the bridge's Addr) with its HTTP server on httpPort (0: none), under
// DefaultName().
func ServiceAt(osc net.Addr, httpPort int) Service {
	s := Service{HTTPPort: httpPort}
	if ua, ok := osc.(*net.UDPAddr); ok {
		s.OSCPort = ua.Port
		if ip, ok := netip.AddrFromSlice(ua.IP); ok {
			s.Listen = ip.Unmap()
		}
	}
	return s
}

// DefaultName is the instance name "oscgpio on <hostname>".
func DefaultName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "raspberrypi"
	}
	return "oscgpio on " + h
}

// LoopbackOnly reports whether the services are published on the loopback
// interface only (see Service.Listen and HTTPListen).
func (s Service) LoopbackOnly() bool {
	loop := func(a netip.Addr) bool { return a.IsValid() && a.IsLoopback() }
	return loop(s.Listen) && (s.HTTPPort == 0 || !s.HTTPListen.IsValid() || loop(s.HTTPListen))
}

func (s Service) name() string {
	n := s.Name
	if n == "" {
		n = DefaultName()
	}
	return clipLabel(n)
}

// maxLabel is the longest DNS label, in bytes: the longest instance name
// Avahi takes ("Invalid service name" beyond).
const maxLabel = 63

// clipLabel cuts n to maxLabel bytes, between two characters: a host name
// of 53 characters or more makes "oscgpio on <hostname>" too long.
func clipLabel(n string) string {
	if len(n) <= maxLabel {
		return n
	}
	end := 0
	for i, r := range n {
		if i+utf8.RuneLen(r) > maxLabel {
			break
		}
		end = i + utf8.RuneLen(r)
	}
	return n[:end]
}

// where is the Avahi interface index and protocol _osc._udp is published on.
func (s Service) where() (iface, proto int32, ifname string) { return whereAt(s.Listen) }

// whereHTTP is the Avahi interface index and protocol _oscjson._tcp is
// published on.
func (s Service) whereHTTP() (iface, proto int32) {
	at := s.HTTPListen
	if !at.IsValid() {
		at = s.Listen
	}
	iface, proto, _ = whereAt(at)
	return iface, proto
}

// whereAt is the Avahi interface index and protocol of a server bound to
// listen (see Service.Listen).
func whereAt(listen netip.Addr) (iface, proto int32, ifname string) {
	iface, proto = avahi.InterfaceUnspec, avahi.ProtoUnspec
	if !listen.IsValid() || listen.IsUnspecified() {
		return iface, proto, ""
	}
	proto = avahi.ProtoInet6
	if listen.Unmap().Is4() {
		proto = avahi.ProtoInet
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return iface, proto, ""
	}
	for _, fi := range ifs {
		if listen.IsLoopback() {
			if fi.Flags&net.FlagLoopback != 0 {
				return int32(fi.Index), proto, fi.Name
			}
			continue
		}
		addrs, err := fi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == listen.Unmap() {
					return int32(fi.Index), proto, fi.Name
				}
			}
		}
	}
	return iface, proto, ""
}

// Advertiser keeps the bridge's services published through Avahi until
// Close. All its work runs on one goroutine of its own; its methods never
// block on Avahi for long and never fail.
type Advertiser struct {
	log     *slog.Logger
	updates chan Service
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex // serialises Update's replace-the-pending-value
	closing sync.Once  // Close waits once
}

// Advertise starts publishing s through Avahi and returns at once; the
// services appear on the network about a second later (Avahi probes the
// name first), and the log says "advertised on the network" when they have.
//
// It never fails the bridge. Where there is no D-Bus system bus, or no
// avahi-daemon on it, or Avahi refuses the services, it logs one warning
// saying so and what to do, and the bridge runs on, not advertised. An
// avahi-daemon that starts (or restarts) later gets the services then. A
// name already in use on the network is replaced, the Avahi way, by its
// alternative ("oscgpio on pi #2"), with a warning naming it.
//
// Cancelling ctx withdraws the services as Close does.
func Advertise(ctx context.Context, s Service, log *slog.Logger) *Advertiser {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Advertiser{log: log, updates: make(chan Service, 1), cancel: cancel, done: make(chan struct{})}
	go a.run(ctx, s)
	return a
}

// Update publishes s instead of what was published (after a reload changed
// a port): the entry group is reset, the services added again and
// committed. An s equal to the current one changes nothing. It does not wait
// for Avahi.
func (a *Advertiser) Update(s Service) {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.updates: // a newer value replaces one not yet taken
	default:
	}
	a.updates <- s
}

// Close withdraws the services (Avahi sends the goodbye packets that tell
// browsers they are gone) and ends the Advertiser. It waits at most about
// 2 s for Avahi, so that a hung daemon cannot hold up the bridge's exit.
// Calling it again does nothing.
func (a *Advertiser) Close() {
	a.closing.Do(func() {
		a.cancel()
		select {
		case <-a.done:
		case <-time.After(closeWait):
			a.log.Warn("Avahi did not answer within 2s: the bridge's services may stay advertised until avahi-daemon notices the bridge is gone")
		}
	})
}

// state is the Advertiser's goroutine's view of Avahi.
type state struct {
	log    *slog.Logger
	conn   *dbus.Conn
	server *avahi.Server
	group  *avahi.EntryGroup

	want      Service // what the bridge asks for
	name      string  // the name in use: want's, or its alternative after collisions
	renames   int
	published bool // the group holds want's services (committed)
	loopSaid  bool // the loopback-only line was logged
	hostWait  bool // withdrawn while Avahi registers its host name
	avahiUp   bool // org.freedesktop.Avahi has an owner on the bus
	warned    bool // the one warning about not being advertised was logged
}

func (a *Advertiser) run(ctx context.Context, s Service) {
	defer close(a.done)
	st := &state{log: a.log, want: s, name: s.name()}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		// No Avahi there (macOS has its own mDNSResponder): nothing to warn about.
		st.log.Info("not advertised on the network: oscgpio advertises itself through Avahi, on Linux only")
		a.idle(ctx)
		return
	}
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		st.notAdvertised("there is no D-Bus system bus ("+err.Error()+")",
			"for OSC apps to find the bridge by name, install avahi-daemon (sudo apt install avahi-daemon), or pass --no-advertise")
		a.idle(ctx)
		return
	}
	st.conn = conn
	defer conn.Close()
	owners := make(chan *dbus.Signal, 16)
	conn.Signal(owners)
	if err := conn.AddMatchSignal(
		dbus.WithMatchSender("org.freedesktop.DBus"),
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, avahiName),
	); err != nil {
		st.log.Debug("discovery: cannot watch avahi-daemon come and go", "err", err)
	}
	// Avahi's server state: a host name change (a second Pi called
	// raspberrypi becomes raspberrypi-2.local) re-registers the host; the
	// services, whose SRV records name the old host, are published again
	// once it runs (what Avahi's client-publish-service example does).
	if err := conn.AddMatchSignal(
		dbus.WithMatchSender(avahiName),
		dbus.WithMatchInterface("org.freedesktop.Avahi.Server"),
		dbus.WithMatchMember("StateChanged"),
	); err != nil {
		st.log.Debug("discovery: cannot watch Avahi's host name changes", "err", err)
	}
	st.server, err = avahi.ServerNew(conn)
	if err != nil { // go-avahi v1.0.1 never fails here; kept for a later one
		st.notAdvertised("Avahi's D-Bus API cannot be used ("+err.Error()+")", "check avahi-daemon (systemctl status avahi-daemon), or pass --no-advertise")
		a.idle(ctx)
		return
	}
	defer func() {
		st.withdraw()
		if !st.avahiUp {
			// Closed first, so that go-avahi's freeing of a forgotten group
			// (see forgetGroup) fails here instead of starting the daemon.
			conn.Close()
		}
		closeServer(st.server)
	}()

	var running bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, avahiName).Store(&running); err != nil || !running {
		st.notAdvertised("avahi-daemon is not running (no "+avahiName+" on the D-Bus system bus)",
			"start it (sudo apt install avahi-daemon; sudo systemctl enable --now avahi-daemon) and the bridge is advertised as soon as it runs, or pass --no-advertise")
	} else {
		st.avahiUp = true
		st.publish()
	}
	for {
		var groupStates chan avahi.EntryGroupState
		if st.group != nil {
			groupStates = st.group.StateChangeChannel
		}
		select {
		case <-ctx.Done():
			return
		case <-conn.Context().Done():
			st.log.Info("the D-Bus system bus connection closed: the bridge is no longer advertised")
			st.dropGroup()
			// go-avahi's signal goroutine spins on the closed signal
			// channel until its Server is closed: close it now, not when
			// the bridge exits.
			closeServer(st.server)
			st.server = nil
			a.idle(ctx)
			return
		case s := <-a.updates:
			if s == st.want && st.published {
				continue
			}
			if s.name() != st.want.name() {
				st.name, st.renames = s.name(), 0
			}
			st.want = s
			st.publish()
		case sig := <-owners:
			if sig != nil && sig.Name == "org.freedesktop.Avahi.Server.StateChanged" && len(sig.Body) > 0 {
				s, _ := sig.Body[0].(int32)
				st.serverState(s)
				continue
			}
			if sig == nil || sig.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(sig.Body) < 3 {
				continue
			}
			if n, _ := sig.Body[0].(string); n != avahiName {
				continue
			}
			if newOwner, _ := sig.Body[2].(string); newOwner != "" {
				st.log.Info("avahi-daemon is running: advertising the bridge")
				st.avahiUp = true
				st.dropGroup()
				st.publish()
			} else {
				st.log.Info("avahi-daemon stopped: the bridge is not advertised until it runs again")
				st.avahiUp = false
				st.forgetGroup()
			}
		case gs := <-groupStates:
			st.groupState(gs)
		}
	}
}

// serverState follows Avahi's server: while it (re-)registers its host name
// the services are withdrawn, and published again when it runs.
func (st *state) serverState(s int32) {
	switch s {
	case avahi.ServerRegistering, avahi.ServerCollision:
		if st.published {
			st.resetGroup()
			st.hostWait = true
		}
	case avahi.ServerRunning:
		if st.hostWait {
			st.hostWait = false
			host, _ := st.server.GetHostNameFqdn()
			st.log.Info("Avahi's host name changed: advertising the bridge again", "host", host)
			st.publish()
		}
	}
}

// idle waits for the end while nothing can be advertised, taking updates so
// that Update never blocks.
func (a *Advertiser) idle(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.updates:
		}
	}
}

// notAdvertised logs why the bridge is not advertised and what to do: a
// warning the first time, an info line after that.
func (st *state) notAdvertised(why, todo string) {
	msg := "not advertised on the network (the bridge runs on): " + why + "; " + todo
	if st.warned {
		st.log.Info(msg)
		return
	}
	st.warned = true
	st.log.Warn(msg)
}

// publish (re)publishes st.want under st.name in the entry group: reset,
// add each service, commit. A local name collision takes the alternative
// name and tries again.
func (st *state) publish() {
	st.published, st.hostWait = false, false
	if !st.avahiUp {
		return // published when avahi-daemon appears on the bus
	}
	if st.want.OSCPort == 0 {
		st.resetGroup()
		return
	}
	if st.group == nil {
		g, err := st.server.EntryGroupNew()
		if err != nil {
			st.refused(err)
			return
		}
		st.group = g
	} else if err := st.group.Reset(); err != nil {
		st.refused(err)
		return
	}
	iface, proto, ifname := st.want.where()
	for {
		err := st.addServices(iface, proto)
		if err == nil {
			err = st.group.Commit()
		}
		if err == nil {
			break
		}
		if isCollision(err) && st.rename() {
			if err := st.group.Reset(); err != nil {
				st.refused(err)
				return
			}
			continue
		}
		st.refused(err)
		return
	}
	st.published = true
	if st.want.LoopbackOnly() && !st.loopSaid {
		st.loopSaid = true
		st.log.Info("the bridge listens on loopback only: it is advertised to programs on this computer only (to be found from the network, listen on 0.0.0.0 with an allow: list)",
			"listen", st.want.Listen.String(), "interface", ifname)
	}
}

func (st *state) addServices(iface, proto int32) error {
	txt := [][]byte{[]byte(TXT)}
	if err := st.group.AddService(iface, proto, 0, st.name, TypeOSC, "", "", uint16(st.want.OSCPort), txt); err != nil {
		return err
	}
	if st.want.HTTPPort > 0 {
		iface, proto := st.want.whereHTTP()
		return st.group.AddService(iface, proto, 0, st.name, TypeOSCJSON, "", "", uint16(st.want.HTTPPort), txt)
	}
	return nil
}

// rename takes Avahi's alternative to the name in use ("x" → "x #2", "x #2" → "x #3").
func (st *state) rename() bool {
	if st.renames >= maxRenames {
		return false
	}
	alt, err := st.server.GetAlternativeServiceName(st.name)
	if err != nil || alt == "" || alt == st.name {
		return false
	}
	st.log.Warn(fmt.Sprintf("the name %q is in use on the network: the bridge is advertised as %q instead (give each bridge its own host name to avoid this)", st.name, alt))
	st.name = alt
	st.renames++
	return true
}

// groupState follows the entry group: established, or a collision found
// while probing (rename and publish again), or a failure.
func (st *state) groupState(gs avahi.EntryGroupState) {
	switch gs.State {
	case avahi.EntryGroupEstablished:
		if !st.published {
			return
		}
		attrs := []any{"name", st.name, TypeOSC, st.want.OSCPort}
		if st.want.HTTPPort > 0 {
			attrs = append(attrs, TypeOSCJSON, st.want.HTTPPort)
		}
		st.log.Info("advertised on the network", attrs...)
	case avahi.EntryGroupCollision:
		if st.rename() {
			st.publish()
			return
		}
		st.published = false
		st.notAdvertised(fmt.Sprintf("the name %q is in use on the network and no other name was free", st.name), "give the bridge another host name, or pass --no-advertise")
	case avahi.EntryGroupFailure:
		st.published = false
		st.notAdvertised("Avahi could not publish the services ("+gs.Error+")", "check avahi-daemon (journalctl -u avahi-daemon), or pass --no-advertise")
	}
}

func (st *state) refused(err error) {
	st.published = false
	st.notAdvertised("Avahi refused the services ("+err.Error()+")", "check avahi-daemon (journalctl -u avahi-daemon), or pass --no-advertise")
}

// resetGroup withdraws the services but keeps the group for later.
func (st *state) resetGroup() {
	if st.group != nil {
		_ = st.group.Reset()
	}
	st.published = false
}

// withdraw frees the entry group: Avahi withdraws its services and sends
// their goodbyes.
func (st *state) withdraw() {
	if st.group == nil {
		return
	}
	wasPublished := st.published
	st.dropGroup()
	if wasPublished {
		st.log.Info("no longer advertised on the network", "name", st.name)
	}
}

// dropGroup frees the entry group (a dead one, after avahi-daemon stopped,
// only leaves go-avahi's books), draining its state changes meanwhile:
// go-avahi delivers them while holding the lock that freeing takes.
func (st *state) dropGroup() {
	g := st.group
	st.group, st.published = nil, false
	if g == nil {
		return
	}
	stop := drain(g.StateChangeChannel)
	st.server.EntryGroupFree(g)
	stop()
}

// forgetGroup drops the entry group of an avahi-daemon that has left the
// bus, without a D-Bus call: a call to org.freedesktop.Avahi now would have
// the bus start the daemon again (D-Bus activation), which whoever stopped
// it did not ask for. go-avahi keeps its emitter until a new group takes
// its object path; it receives nothing meanwhile.
func (st *state) forgetGroup() {
	st.group, st.published, st.hostWait = nil, false, false
}

// closeServer ends go-avahi's signal goroutine and closes the D-Bus
// connection. A nil s (closed already) does nothing: a second Close of a
// go-avahi Server blocks for ever.
func closeServer(s *avahi.Server) {
	if s != nil {
		s.Close()
	}
}

// drain empties ch until the returned stop is called.
func drain(ch chan avahi.EntryGroupState) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ch:
			case <-quit:
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}

func isCollision(err error) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name == "org.freedesktop.Avahi.CollisionError"
	}
	return false
}
