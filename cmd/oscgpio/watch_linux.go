package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"
)

// watchFile calls changed after the file at path is closed after writing or
// moved into place (editors save by renaming a new file over the old one),
// once the events have settled for 200 ms; a file still being written (an
// upload in progress) is never read half-way. It watches the directory of
// the file (of its target, for a symbolic link) with inotify, so nothing runs
// while the file does not change. It returns when ctx is done.
func watchFile(ctx context.Context, path string, log *slog.Logger, changed func()) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir, name := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK) // non-blocking: Close ends a Read
	if err != nil {
		log.Error("--watch: cannot watch the mapping file; reload with SIGHUP instead", "file", path, "err", err)
		return
	}
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	context.AfterFunc(ctx, func() { f.Close() })
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CLOSE_WRITE|syscall.IN_MOVED_TO); err != nil {
		log.Error("--watch: cannot watch the mapping file's directory; reload with SIGHUP instead", "dir", dir, "err", err)
		return
	}
	log.Info("watching the mapping file; a change reloads it", "file", path)
	events := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 64*(syscall.SizeofInotifyEvent+syscall.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				close(events)
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				nameBytes := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				off += syscall.SizeofInotifyEvent + int(ev.Len)
				if cstr(nameBytes) == name {
					select {
					case events <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	var settle <-chan time.Time
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
			settle = time.After(200 * time.Millisecond)
		case <-settle:
			settle = nil
			changed()
		}
	}
}

// cstr is the NUL-terminated string at the start of b.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
