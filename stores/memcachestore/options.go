package memcachestore

import "fmt"

// Defaults of the options of [New].
const (
	// DefaultPrefix is the prefix put before every key the store writes.
	DefaultPrefix = "session:"
	// DefaultMaxCASRetries is how many times a read-modify-write
	// (SaveDelta, Touch) is retried after losing a compare-and-swap race.
	DefaultMaxCASRetries = 10
	// DefaultMaxItemSize is the largest record the store writes: 1 MiB,
	// memcached's default item size limit (its -I flag).
	DefaultMaxItemSize = 1 << 20
)

// maxPrefixLen leaves room in memcached's 250-byte key limit for the
// longest key suffix the store builds: the hash marker and 64 hex digits.
const maxPrefixLen = maxKeyLen - len(hashMarker) - 64

// Option configures a [Store] built by [New].
type Option func(*config) error

type config struct {
	prefix     string
	maxRetries int
	maxSize    int
}

// WithPrefix sets the prefix put before every memcached key the store
// writes, so that several applications or stores can share servers. It must
// be at most 185 bytes with no spaces or control characters (memcached's
// key rules). The default is [DefaultPrefix]; an empty prefix is allowed.
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		if len(prefix) > maxPrefixLen {
			return fmt.Errorf("memcachestore: prefix of %d bytes is longer than %d", len(prefix), maxPrefixLen)
		}
		for i := 0; i < len(prefix); i++ {
			if !legalKeyByte(prefix[i]) {
				return fmt.Errorf("memcachestore: prefix %q has a space or control character at byte %d", prefix, i)
			}
		}
		c.prefix = prefix
		return nil
	}
}

// WithMaxCASRetries sets how many times SaveDelta and Touch retry after a
// concurrent writer changed the item between their read and their
// compare-and-swap (each retry waits a short random backoff). When the
// retries run out the call fails with an error matching [ErrContention].
// Zero means a single attempt; a negative value is an error. The default is
// [DefaultMaxCASRetries].
func WithMaxCASRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("memcachestore: negative CAS retry count %d", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithMaxItemSize sets the largest record, in bytes, the store writes; a
// larger one fails with an error matching core.ErrTooLarge that names the
// limit, without a round trip. Set it to the servers' item size limit (the
// memcached -I flag). The default is [DefaultMaxItemSize]; zero or a
// negative value is an error.
func WithMaxItemSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("memcachestore: max item size %d is not positive", n)
		}
		c.maxSize = n
		return nil
	}
}
