//go:build !linux

package main

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// watchFile calls changed when the file at path gets a new modification time
// or size, checked once a second (systems without inotify).
func watchFile(ctx context.Context, path string, log *slog.Logger, changed func()) {
	stat := func() (time.Time, int64) {
		fi, err := os.Stat(path)
		if err != nil {
			return time.Time{}, -1
		}
		return fi.ModTime(), fi.Size()
	}
	mt, size := stat()
	log.Info("watching the mapping file (checked once a second); a change reloads it", "file", path)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if m, s := stat(); !m.Equal(mt) || s != size {
				mt, size = m, s
				changed()
			}
		}
	}
}
