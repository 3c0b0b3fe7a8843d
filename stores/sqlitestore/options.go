package sqlitestore

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults of the options.
const (
	// DefaultTable is the name of the table that holds the sessions.
	DefaultTable = "sessionkit_sessions"
	// DefaultCleanupInterval is how often expired rows are deleted.
	DefaultCleanupInterval = 5 * time.Minute
	// DefaultMaxRecordSize is the largest record a Store accepts: 4 MiB.
	DefaultMaxRecordSize = 4 << 20

	// maxTableNameLen keeps the derived names (meta table, index) short.
	maxTableNameLen = 64
	// maxRecordSizeLimit stays below SQLite's default SQLITE_MAX_LENGTH
	// (1,000,000,000 bytes) so an accepted record can always be written.
	maxRecordSizeLimit = 512 << 20
)

// Option configures a [Store] built by [Open] or [New].
type Option func(*config)

type config struct {
	table           string
	cleanupInterval time.Duration
	maxRecordSize   int
	logger          *slog.Logger
}

func defaultConfig() config {
	return config{
		table:           DefaultTable,
		cleanupInterval: DefaultCleanupInterval,
		maxRecordSize:   DefaultMaxRecordSize,
		logger:          slog.Default(),
	}
}

// WithTable sets the name of the table that holds the sessions; the store
// also creates a table named name+"_meta" for its schema version and an
// index named name+"_expiry". The name is made of ASCII letters, digits
// and underscores, at most 64 of them, and must not start with "sqlite_";
// any other name makes [Open] and [New] fail.
//
// default: [DefaultTable] ("sessionkit_sessions")
func WithTable(name string) Option {
	return func(c *config) { c.table = name }
}

// WithCleanupInterval sets how often a background goroutine deletes the
// expired rows. Zero disables the background cleanup (call
// [Store.Cleanup] yourself); a negative interval makes [Open] and [New]
// fail.
//
// default: [DefaultCleanupInterval] (5 minutes)
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.cleanupInterval = d }
}

// WithMaxRecordSize sets the largest encoded record, in bytes, that Save
// and SaveDelta accept; a larger one is an error matching
// [core.ErrTooLarge]. It must be positive and at most 512 MiB.
//
// default: [DefaultMaxRecordSize] (4 MiB)
func WithMaxRecordSize(n int) Option {
	return func(c *config) { c.maxRecordSize = n }
}

// WithLogger sets the logger that reports failures of the background
// cleanup, the only errors no caller sees. A nil logger discards them.
//
// default: [slog.Default]
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

func (c *config) validate() error {
	if err := validTable(c.table); err != nil {
		return err
	}
	if c.cleanupInterval < 0 {
		return fmt.Errorf("sqlitestore: negative cleanup interval %v", c.cleanupInterval)
	}
	if c.maxRecordSize <= 0 || c.maxRecordSize > maxRecordSizeLimit {
		return fmt.Errorf("sqlitestore: max record size %d is outside 1..%d bytes", c.maxRecordSize, maxRecordSizeLimit)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func validTable(name string) error {
	if name == "" {
		return fmt.Errorf("sqlitestore: empty table name")
	}
	if len(name) > maxTableNameLen {
		return fmt.Errorf("sqlitestore: table name %q is longer than %d characters", name, maxTableNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("sqlitestore: table name %q: only ASCII letters, digits and underscores are allowed", name)
		}
	}
	if strings.HasPrefix(strings.ToLower(name), "sqlite_") {
		return fmt.Errorf("sqlitestore: table name %q: names starting with sqlite_ are reserved by SQLite", name)
	}
	return nil
}
