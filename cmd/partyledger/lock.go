package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
)

// dbLock is the exclusive OS-level lock that makes one process the owner
// (the only writer) of a database: serve, rebuild, demo. It is a flock(2)
// on "<db>.lock", which the kernel releases when the process ends in any
// way, kill -9 included, so a lock is never left stale. The file holds a
// line naming the holder (pid, command, address) for the message a second
// writer prints; read-only commands (register, report, verify, backup)
// take no lock and work beside the owner.
type dbLock struct {
	f       *os.File
	command string
}

// ErrLocked is matched by the error of [lockDB] when another process owns
// the database.
var ErrLocked = errors.New("the database is locked by another partyledger process")

// lockDB takes the lock of the database at dbPath for command, at once or
// not at all: it fails with an error matching [ErrLocked], naming the
// holder, when another process holds it.
func lockDB(dbPath, command string) (*dbLock, error) {
	path := dbPath + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dbPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "unknown holder"
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			holder = strings.TrimSpace(string(b))
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by %s; stop that process first (read-only commands such as register, report, verify and backup work beside it)",
				ErrLocked, dbPath, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", dbPath, err)
	}
	l := &dbLock{f: f, command: command}
	if err := l.describe(""); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// describe writes the holder line: pid, command and, once known, address.
func (l *dbLock) describe(addr string) error {
	line := fmt.Sprintf("pid %d (partyledger %s", os.Getpid(), l.command)
	if addr != "" {
		line += " on " + addr
	}
	line += ")\n"
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(line), 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// Close releases the lock. The lock file stays: removing it would let a
// third process lock a new file while a second still waits on the old one.
func (l *dbLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	return l.f.Close() // closing the descriptor releases the flock
}

// openWriterApp is openApp for a command that writes (serve, rebuild,
// demo): it first takes the database's lock, which the app releases on
// Close, last.
func openWriterApp(ctx context.Context, f storeFlags, logger *slog.Logger, follow bool, command string) (*app, *dbLock, error) {
	l, err := lockDB(f.db, command)
	if err != nil {
		return nil, nil, err
	}
	a, err := openApp(ctx, f, logger, follow)
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	a.closers = append([]func() error{l.Close}, a.closers...)
	return a, l, nil
}
