package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/core/record"
)

// scanBatch is the COUNT hint given to SCAN and the most keys one pipeline
// carries.
const scanBatch = 256

// errStop ends a walk early without being an error for the caller.
var errStop = errors.New("redisstore: stop")

// forEachNode calls fn with every node that holds a share of the keys:
// each master of a cluster, each shard of a ring, or the one server. On a
// cluster and a ring the calls run concurrently.
func (s *Store) forEachNode(ctx context.Context, fn func(ctx context.Context, c redis.Cmdable) error) error {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return fn(ctx, n) })
	case *redis.Ring:
		return c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return fn(ctx, n) })
	}
	return fn(ctx, s.client)
}

// scan calls batch with the keys under the prefix that SCAN finds on one
// node, with keyType filtering them ("" for any type). A key SCAN reports
// twice (it may, while Redis resizes its table) is passed once.
func (s *Store) scan(ctx context.Context, c redis.Cmdable, keyType string, batch func(keys []string) error) error {
	match := escapeGlob(s.prefix) + "*"
	seen := make(map[string]struct{})
	var cursor uint64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var cmd *redis.ScanCmd
		if keyType == "" {
			cmd = c.Scan(ctx, cursor, match, scanBatch)
		} else {
			cmd = c.ScanType(ctx, cursor, match, scanBatch, keyType)
		}
		keys, next, err := cmd.Result()
		if err != nil {
			return err
		}
		fresh := keys[:0]
		for _, k := range keys {
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				fresh = append(fresh, k)
			}
		}
		if len(fresh) > 0 {
			if err := batch(fresh); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// sessionKeys drops the users' index hashes from keys, in place.
func (s *Store) sessionKeys(keys []string) []string {
	return slices.DeleteFunc(keys, s.isUserHash)
}

// escapeGlob quotes the characters SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(r)
	}
	return b.String()
}

// Iterate calls fn for each live record under the store's prefix, with
// SCAN on every master and one pipelined HGETALL per batch of keys; the
// users' index hashes are not records and are skipped. Calls to fn never
// overlap, even on a cluster whose masters are walked concurrently, and
// fn may call back into the store. A key may be
// visited although it was deleted after the walk started, never twice;
// to make sure of that the walk remembers the keys of a master it has
// seen, so its memory grows with the number of sessions.
func (s *Store) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if err := s.check(ctx, "iterate"); err != nil {
		return err
	}
	var mu sync.Mutex
	stopped := false
	err := s.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
		return s.scan(ctx, c, "hash", func(keys []string) error {
			if keys = s.sessionKeys(keys); len(keys) == 0 {
				return nil
			}
			cmds := make([]*redis.MapStringStringCmd, len(keys))
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					cmds[i] = p.HGetAll(ctx, k)
				}
				return nil
			})
			if err != nil {
				return err
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for i, k := range keys {
				if stopped {
					return errStop
				}
				data, ok := buildRecord(cmds[i].Val(), now)
				if ok && !fn(strings.TrimPrefix(k, s.prefix), data) {
					stopped = true
				}
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("redisstore: iterate: %w", err)
	}
	return nil
}

// Count returns the number of live records under the store's prefix: SCAN
// on every master and one pipelined HGET of the header per batch of keys,
// so a record whose exact expiry has passed is not counted even in the
// millisecond before Redis drops it. Like [Store.Iterate] it remembers the
// keys it has seen, so that none is counted twice; its time and memory
// grow with the number of sessions.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.check(ctx, "count"); err != nil {
		return 0, err
	}
	var mu sync.Mutex
	total := 0
	err := s.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
		return s.scan(ctx, c, "hash", func(keys []string) error {
			if keys = s.sessionKeys(keys); len(keys) == 0 {
				return nil
			}
			cmds := make([]*redis.StringCmd, len(keys))
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					cmds[i] = p.HGet(ctx, k, fieldHeader)
				}
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			now := time.Now()
			n := 0
			for _, cmd := range cmds {
				if h, err := cmd.Bytes(); err == nil && record.Live(h, now) {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("redisstore: count: %w", err)
	}
	return total, nil
}

// Clear deletes every key under the store's prefix and no other: SCAN on
// every master and one pipelined UNLINK per key, so it is safe on a
// cluster. Records saved while Clear runs may survive. The users' index
// hashes are walked in a second pass that removes their entries whose
// records are gone (an index hash whose entries all go goes with them):
// deleting them with the sessions would drop the entry of a session
// created while Clear runs, in a slot the walk had passed already, and
// leave that live bound session outside its user's index.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.check(ctx, "clear"); err != nil {
		return err
	}
	err := s.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
		return s.scan(ctx, c, "", func(keys []string) error {
			if keys = s.sessionKeys(keys); len(keys) == 0 {
				return nil
			}
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.Unlink(ctx, k)
				}
				return nil
			})
			return err
		})
	})
	if err == nil {
		err = s.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
			return s.scan(ctx, c, "hash", func(keys []string) error {
				if keys = slices.DeleteFunc(keys, func(k string) bool { return !s.isUserHash(k) }); len(keys) == 0 {
					return nil
				}
				return s.pruneUsers(ctx, c, keys)
			})
		})
	}
	if err != nil {
		return fmt.Errorf("redisstore: clear: %w", err)
	}
	return nil
}
