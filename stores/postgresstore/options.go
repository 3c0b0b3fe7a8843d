package postgresstore

import (
	"log/slog"
	"time"

	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// Defaults of the options.
const (
	// DefaultTable is the name of the table that holds the sessions.
	DefaultTable = sqlstore.DefaultTable
	// DefaultCleanupInterval is how often expired rows are deleted.
	DefaultCleanupInterval = sqlstore.DefaultCleanupInterval
	// DefaultMaxRecordSize is the largest record a Store accepts: 4 MiB.
	DefaultMaxRecordSize = sqlstore.DefaultMaxRecordSize
)

// Option configures a [Store] built by [New] or [NewDB].
type Option = sqlstore.Option

// WithTable sets the name of the table that holds the sessions, in the
// connection's current schema (its search_path); the store also creates a
// table named name+"_meta" for its schema version and an index named
// name+"_expiry". The name is made of ASCII letters, digits and
// underscores, does not start with "pg_", and is at most 56 characters
// long; any other name makes [New] and [NewDB] fail. It is quoted, so its
// case is kept.
//
// default: [DefaultTable] ("sessionkit_sessions")
func WithTable(name string) Option { return sqlstore.WithTable(name) }

// WithCleanupInterval sets how often a background goroutine deletes the
// expired rows. Zero disables the background cleanup (call
// [sqlstore.Store.Cleanup] yourself); a negative interval makes [New] and
// [NewDB] fail.
//
// default: [DefaultCleanupInterval] (5 minutes)
func WithCleanupInterval(d time.Duration) Option { return sqlstore.WithCleanupInterval(d) }

// WithMaxRecordSize sets the largest encoded record, in bytes, that Save
// and SaveDelta accept; a larger one is an error matching
// [core.ErrTooLarge]. It must be positive and at most 512 MiB (bytea holds
// 1 GB).
//
// default: [DefaultMaxRecordSize] (4 MiB)
func WithMaxRecordSize(n int) Option { return sqlstore.WithMaxRecordSize(n) }

// WithLogger sets the logger that reports failures of the background
// cleanup, the only errors no caller sees. A nil logger discards them.
//
// default: [slog.Default]
func WithLogger(l *slog.Logger) Option { return sqlstore.WithLogger(l) }
