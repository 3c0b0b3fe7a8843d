package sqlstore

import (
	"fmt"
	"log/slog"
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
)

// Option configures a [Store]. The store packages re-export each one under
// the same name.
type Option func(*Config)

// Config is the configuration the options build. Its zero value is not
// meant to be used: [New] starts from the defaults.
type Config struct {
	Table           string
	CleanupInterval time.Duration
	MaxRecordSize   int
	Logger          *slog.Logger
}

func defaultConfig() Config {
	return Config{
		Table:           DefaultTable,
		CleanupInterval: DefaultCleanupInterval,
		MaxRecordSize:   DefaultMaxRecordSize,
		Logger:          slog.Default(),
	}
}

// WithTable sets the name of the table that holds the sessions; the store
// also creates a table named name+"_meta" for its schema version, a table
// named name+"_users" for its user index, and the indexes name+"_expiry"
// and name+"_usersk". The name is made of ASCII letters, digits
// and underscores (it is quoted in SQL, so it may start with a digit and
// its case is kept), at most as long as the dialect allows; any other
// name makes the constructor fail.
//
// default: [DefaultTable] ("sessionkit_sessions")
func WithTable(name string) Option {
	return func(c *Config) { c.Table = name }
}

// WithCleanupInterval sets how often a background goroutine deletes the
// expired rows. Zero disables the background cleanup (call
// [Store.Cleanup] yourself); a negative interval makes the constructor
// fail.
//
// default: [DefaultCleanupInterval] (5 minutes)
func WithCleanupInterval(d time.Duration) Option {
	return func(c *Config) { c.CleanupInterval = d }
}

// WithMaxRecordSize sets the largest encoded record, in bytes, that Save
// and SaveDelta accept; a larger one is an error matching
// [core.ErrTooLarge]. It must be positive and at most what the dialect's
// data column holds.
//
// default: [DefaultMaxRecordSize] (4 MiB)
func WithMaxRecordSize(n int) Option {
	return func(c *Config) { c.MaxRecordSize = n }
}

// WithLogger sets the logger that reports failures of the background
// cleanup, the only errors no caller sees. A nil logger discards them.
//
// default: [slog.Default]
func WithLogger(l *slog.Logger) Option {
	return func(c *Config) { c.Logger = l }
}

// Validate checks opts as the constructors do, without touching a
// database, so that a constructor can refuse them before it opens or
// creates anything.
func Validate(d *Dialect, opts ...Option) error {
	_, err := newConfig(d, opts)
	return err
}

func newConfig(d *Dialect, opts []Option) (Config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := validTable(d, c.Table); err != nil {
		return c, err
	}
	if c.CleanupInterval < 0 {
		return c, fmt.Errorf("%s: negative cleanup interval %v", d.Name, c.CleanupInterval)
	}
	if c.MaxRecordSize <= 0 || c.MaxRecordSize > d.MaxRecordSize {
		return c, fmt.Errorf("%s: max record size %d is outside 1..%d bytes", d.Name, c.MaxRecordSize, d.MaxRecordSize)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// validTable accepts plain identifiers only, so that a table name can be
// quoted into SQL text without escaping and means the same on every
// database.
func validTable(d *Dialect, name string) error {
	if name == "" {
		return fmt.Errorf("%s: empty table name", d.Name)
	}
	if len(name) > d.MaxTableName {
		return fmt.Errorf("%s: table name %q is longer than %d characters", d.Name, name, d.MaxTableName)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("%s: table name %q: only ASCII letters, digits and underscores are allowed", d.Name, name)
		}
	}
	if d.CheckTable != nil {
		return d.CheckTable(name)
	}
	return nil
}
