package bench

import (
	"net/http"
	"sync/atomic"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-contrib/sessions/memstore"
	ginredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/ginsession"
)

// ginApps are the Gin apps: Gin alone, gin-contrib/sessions over its
// cookie, memory and Redis stores, and ginsession over memory and Redis.
func ginApps() []App {
	return []App{
		{Name: "gin/bare", Framework: "gin", Library: "bare", build: func(_ Env, in *Instance) error {
			var n atomic.Int64
			r := newGin()
			r.GET("/", func(c *gin.Context) {
				c.Data(http.StatusOK, "text/plain; charset=utf-8", counterBody(int(n.Add(1))))
			})
			in.handler = r
			return nil
		}},
		{Name: "gin/gin-contrib-cookie", Framework: "gin", Library: "gin-contrib/sessions", Store: "cookie", build: func(_ Env, in *Instance) error {
			return buildGinContrib(in, cookie.NewStore(secret))
		}},
		{Name: "gin/gin-contrib-memory", Framework: "gin", Library: "gin-contrib/sessions", Store: "memory", build: func(_ Env, in *Instance) error {
			return buildGinContrib(in, memstore.NewStore(secret))
		}},
		{Name: "gin/gin-contrib-redis", Framework: "gin", Library: "gin-contrib/sessions", Store: "redis", Redis: true, build: func(env Env, in *Instance) error {
			// As many idle connections as wrk keeps requests in flight, so
			// the pool does not churn connections under load.
			store, err := ginredis.NewStore(64, "tcp", env.RedisAddr, "", "", secret)
			if err != nil {
				return err
			}
			return buildGinContrib(in, store)
		}},
		{Name: "gin/sessionkit-memory", Framework: "gin", Library: "sessionkit", Store: "memory", build: func(_ Env, in *Instance) error {
			return buildGinsession(in, memoryStore(in))
		}},
		{Name: "gin/sessionkit-redis", Framework: "gin", Library: "sessionkit", Store: "redis", Redis: true, build: func(env Env, in *Instance) error {
			store, err := redisStore(env, in)
			if err != nil {
				return err
			}
			return buildGinsession(in, store)
		}},
	}
}

// secret signs the cookies of the gorilla-based stores.
var secret = []byte("bench-secret-0123456789abcdef0123")

func newGin() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	return gin.New()
}

func buildGinContrib(in *Instance, store sessions.Store) error {
	r := newGin()
	r.Use(sessions.Sessions(CookieName, store))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		n, _ := s.Get("n").(int)
		n++
		s.Set("n", n)
		if err := s.Save(); err != nil {
			c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		c.Data(http.StatusOK, "text/plain; charset=utf-8", counterBody(n))
	})
	in.handler = r
	return nil
}

func buildGinsession(in *Instance, store core.Store) error {
	r := newGin()
	r.Use(ginsession.New(store, core.WithCookie(core.Cookie{Name: CookieName})))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _ := core.GetAs[int](s, "n")
		n++
		s.Set("n", n)
		c.Data(http.StatusOK, "text/plain; charset=utf-8", counterBody(n))
	})
	in.handler = r
	return nil
}
