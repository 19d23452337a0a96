package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/logs"
)

// runCmd runs the bridge until SIGINT or SIGTERM, then leaves every output at
// its safe level and exits 0. SIGHUP, and a change of the file with --watch,
// reload the mapping.
func runCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	file := fs.String("config", "", "mapping `FILE` (default: the embedded tutorial mapping)")
	kind := fs.String("gpio", "auto", "pin backend: auto (host on a Raspberry Pi, else sim), host or sim")
	listen := fs.String("listen", "", "receive OSC on `HOST:PORT` (default: the mapping's listen, 127.0.0.1:5005; port 0 picks a free one)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	watch := fs.Bool("watch", false, "reload the mapping when its file changes (as SIGHUP does)")
	noAdvertise := fs.Bool("no-advertise", false, "do not advertise the bridge on the network (mDNS/DNS-SD _osc._udp and _oscjson._tcp through avahi-daemon)")
	httpAddr := fs.String("http", "", "serve the dashboard on `HOST:PORT`, or off (default: the mapping's http, else "+config.DefaultHTTP+"; port 0 picks a free one)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected argument %q (the mapping file goes after --config)", errUsage, rest[0])
	}
	if *watch && *file == "" {
		return fmt.Errorf("%w: --watch needs --config FILE (the embedded mapping never changes)", errUsage)
	}
	// The log never blocks the bridge: a stalled reader of stderr (a paused
	// pager, Ctrl-S) costs lines, counted, not the show.
	lw := logs.NewWriter(stderr, 4096)
	defer lw.Close(200 * time.Millisecond)
	log, err := newLogger(lw, *level)
	if err != nil {
		return err
	}
	tuneRuntime(log)

	cfg := config.Default()
	if *file != "" {
		if cfg, err = config.Load(*file); err != nil {
			lw.Close(time.Second)
			fmt.Fprintln(stderr, err)
			fmt.Fprintln(stderr, "oscgpio run: the mapping has errors; fix them (oscgpio check FILE lists them) and start again")
			return errQuiet
		}
	}

	// Signals are caught before any pin is touched, so a stop during start-up
	// still ends with the outputs safe.
	// SIGQUIT too: Go's default (a stack dump, exit 2) would skip the safe
	// levels. SIGPIPE is caught so that a log reader that went away (`run
	// 2>&1 | head`, a restarted collector) costs log lines, not the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	defer signal.Stop(hup)

	for _, w := range cfg.Warnings() {
		log.Warn(w.Error())
	}
	// The dashboard's socket is bound first: a taken address stops here,
	// before any pin is touched.
	dash, err := openDashboard(*httpAddr, cfg, log)
	if err != nil {
		return err
	}
	defer dash.close()
	backend, err := gpio.Open(*kind, log)
	if err != nil {
		return err
	}
	b, err := oscmap.NewBridge(cfg, backend, oscmap.Options{Listen: *listen, Logger: log, StartAttrs: dash.startAttrs()})
	if err != nil {
		backend.Close()
		return err
	}
	dash.start(b)
	// A panic on this goroutine still leaves the outputs safe.
	defer func() {
		if r := recover(); r != nil {
			b.Close()
			panic(r)
		}
	}()

	// Advertised through Avahi from now (the sockets are bound) until the
	// end: the OSC port, and the dashboard's as OSCQuery's _oscjson._tcp.
	adv := startAdvertising(ctx, *noAdvertise, b, dash.addr, log)

	// Reloads run until Run returns.
	runCtx, runDone := context.WithCancel(ctx)
	defer runDone()
	reload := make(chan string, 1)
	go func() {
		for range hup {
			select {
			case reload <- "SIGHUP":
			default:
			}
		}
	}()
	if *watch {
		go watchFile(runCtx, *file, log, func() {
			select {
			case reload <- "file changed":
			default:
			}
		})
	}
	usr1 := make(chan os.Signal, 1)
	notifyUSR1(usr1)
	defer signal.Stop(usr1)
	// A panic in a goroutine of run's own ends the process: put the
	// outputs at their safe levels first.
	safeOnPanic := func() {
		if r := recover(); r != nil {
			b.Close()
			panic(r)
		}
	}
	go func() {
		defer safeOnPanic()
		// SIGUSR1: every counter in the log now, whatever --log-level says.
		summary := slog.New(slog.NewTextHandler(lw, nil))
		for {
			select {
			case <-runCtx.Done():
				return
			case <-usr1:
				summary.Info("oscgpio counters", slog.Any("", b.Counters()), "log_lines_dropped", lw.Dropped(), slog.Any("top_senders", b.TopSenders(3)))
			}
		}
	}()
	reloadsDone := make(chan struct{})
	go func() {
		defer close(reloadsDone)
		// A panic while reloading still leaves the outputs safe.
		defer safeOnPanic()
		for {
			select {
			case <-runCtx.Done():
				return
			case why := <-reload:
				reloadMapping(b, *file, why, log)
				adv.renew(b) // a changed listen port is advertised
			}
		}
	}()

	// systemd (Type=notify): ready once listening, and alive while the
	// engine answers (WatchdogSec=); nothing runs when systemd asks nothing.
	go func() {
		defer safeOnPanic()
		notifySystemd(runCtx, b, log)
	}()

	runErr := b.Run(ctx)
	runDone()
	<-reloadsDone // no reload (nor its dashboard move or advertising) after this
	dash.close()
	adv.close()
	// Every counter, at any log level: this line is written whatever --log-level says.
	summary := slog.New(slog.NewTextHandler(lw, nil))
	summary.Info("oscgpio stopped", slog.Any("", b.Counters()), "log_lines_dropped", lw.Dropped(), slog.Any("top_senders", b.TopSenders(3)))
	return runErr
}

// reloadMapping re-reads the mapping file and applies it. A file with errors
// is refused, its errors logged, and the running mapping stays.
func reloadMapping(b *oscmap.Bridge, file, why string, log *slog.Logger) {
	if file == "" {
		log.Info("reload asked ("+why+"), but the bridge runs the embedded tutorial mapping: nothing to re-read", "why", why)
		return
	}
	cfg, err := config.Load(file)
	if err != nil {
		for _, line := range splitLines(err.Error()) {
			log.Error("reload refused: the mapping has errors; the running mapping stays", "why", why, "err", line)
		}
		return
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w.Error())
	}
	if err := b.Apply(cfg); err != nil {
		for _, line := range splitLines(err.Error()) {
			log.Error("reload: part of the mapping could not be applied; the rest is in use", "why", why, "err", line)
		}
		return
	}
	log.Info("mapping reloaded", "why", why, "mapping", file)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// tuneRuntime runs the bridge on one processor and with a tighter garbage
// collector, unless the environment sets GOMAXPROCS or GOGC. The bridge's
// work is one ordered chain (a reader, then the pins, then the reports):
// measured on a 2-core machine, handing each message between cores cost
// about 30 µs of round trip (p50 36-49 µs with 2, 13 µs with 1) and gained no
// throughput worth having; GOGC=50 keeps the heap, and the resident memory
// after a load test, under 10 MB.
func tuneRuntime(log *slog.Logger) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	log.Debug("runtime", "gomaxprocs", runtime.GOMAXPROCS(0), "cpus", runtime.NumCPU())
}
