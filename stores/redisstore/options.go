package redisstore

// Option configures a [Store] built by [New].
type Option func(*config)

type config struct {
	prefix  string
	maxSize int
}

const (
	// DefaultPrefix is the key prefix used when [WithPrefix] is not given.
	DefaultPrefix = "session:"
	// DefaultMaxSize is the largest encoded record, in bytes, a store
	// accepts when [WithMaxSize] is not given: 1 MiB.
	DefaultMaxSize = 1 << 20
)

// WithPrefix sets the prefix put in front of every session key
// (default: "session:"). Give each store sharing a database its own
// prefix: Clear, Count and Iterate see only keys under it. An empty
// prefix is refused by [New] because Clear would then empty the whole
// database.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithMaxSize sets the largest encoded record, in bytes, the store
// accepts (default: [DefaultMaxSize]). A save that would make a record
// larger fails with an error wrapping core.ErrTooLarge that names the
// limit. n must be positive.
func WithMaxSize(n int) Option {
	return func(c *config) { c.maxSize = n }
}
