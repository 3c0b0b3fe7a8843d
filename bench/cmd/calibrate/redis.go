package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// newRedisFloor returns the net/http floor app whose records live in the
// Redis server at addr: per request one GET and one SET with a TTL,
// through a go-redis client configured as the benchmark apps' clients
// are. Two round trips and nothing else: no script, so unlike a real
// store it loses updates that race.
func newRedisFloor(addr string) server {
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := hashToken(sessionCookie(r.Header["Cookie"]))
		var buf [len("floor:") + 2*len(sum)]byte
		copy(buf[:], "floor:")
		hex.Encode(buf[len("floor:"):], sum[:])
		key := string(buf[:]) // one string for both commands
		ctx := r.Context()
		now := time.Now()
		var count uint64
		old, err := c.Get(ctx, key).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if len(old) == 16 && int64(binary.LittleEndian.Uint64(old[8:])) > now.UnixNano() {
			count = binary.LittleEndian.Uint64(old)
		}
		var rec [16]byte
		binary.LittleEndian.PutUint64(rec[:], count+1)
		exp := now.Add(floorTTL)
		binary.LittleEndian.PutUint64(rec[8:], uint64(exp.UnixNano()))
		if err := c.Set(ctx, key, rec[:], floorTTL).Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header()["Vary"] = vary
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(strconv.AppendUint(nil, count+1, 10))
	})}
	return server{serve: srv.Serve, shutdown: func() error {
		err := srv.Shutdown(context.Background())
		c.Close()
		return err
	}}
}
