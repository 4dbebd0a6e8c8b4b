package output

import (
	"context"
	"io"
)

// Sink stores a run's files: a local directory or an S3 prefix.
type Sink interface {
	// Create starts a new object at key (a slash-separated path relative to
	// the sink's root). Nothing is visible at key until the object is
	// finished without error.
	Create(ctx context.Context, key string) (Object, error)
}

// Object is one file being written to a Sink.
type Object interface {
	io.Writer
	// Finish makes the object visible when err is nil, and discards
	// everything written when err is not nil. It is called exactly once.
	Finish(err error) error
}
