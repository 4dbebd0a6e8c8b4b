package output

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Dir is a Sink that writes below a local directory. Each object is written
// to a hidden temporary file and linked into place on Finish, so a reader
// never sees a partial file and an existing file is never overwritten.
type Dir string

var _ Sink = Dir("")

// Create starts the file at key below the directory.
func (d Dir) Create(_ context.Context, key string) (Object, error) {
	if key == "" || strings.Contains(key, "..") || filepath.IsAbs(key) {
		return nil, fmt.Errorf("create %q: invalid key", key)
	}
	final := filepath.Join(string(d), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", final, err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", final, err)
	}
	return &dirObject{f: f, final: final}, nil
}

type dirObject struct {
	f     *os.File
	final string
	done  bool
}

func (o *dirObject) Write(p []byte) (int, error) { return o.f.Write(p) }

// Finish links the temporary file into place, or removes it when err is set.
func (o *dirObject) Finish(err error) error {
	if o.done {
		return errors.New("finish " + o.final + ": already finished")
	}
	o.done = true
	tmp := o.f.Name()
	defer os.Remove(tmp)
	if err != nil {
		o.f.Close()
		return nil
	}
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		return fmt.Errorf("write %s: %w", o.final, err)
	}
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.final, err)
	}
	// Link fails when the target exists: an object is never overwritten.
	if err := os.Link(tmp, o.final); err != nil {
		return fmt.Errorf("commit %s: %w", o.final, err)
	}
	return nil
}
