package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/responses"
)

// CORSConfig configures CORS. The names follow Starlette's CORSMiddleware.
// The zero value of every field but AllowOrigins picks a default.
type CORSConfig struct {
	// AllowOrigins lists the origins ("https://app.example.com": scheme,
	// host and optional port, nothing else) allowed to make cross-origin
	// requests, or holds "*" to allow every origin. It must not be empty
	// unless AllowOriginFunc is set.
	AllowOrigins []string

	// AllowOriginFunc, when set, is asked about origins not in AllowOrigins.
	// It must not be combined with "*".
	AllowOriginFunc func(origin string) bool

	// AllowMethods lists the methods allowed in cross-origin requests.
	// Default: GET, HEAD, POST, PUT, PATCH, DELETE.
	AllowMethods []string

	// AllowHeaders lists the request headers allowed in cross-origin
	// requests, or holds "*" for any header. Default: Accept,
	// Accept-Language, Content-Language, Content-Type, X-Request-ID.
	AllowHeaders []string

	// AllowCredentials lets browsers send cookies and HTTP authentication
	// with cross-origin requests. Browsers refuse credentials when any of
	// the lists above holds "*", so that combination panics.
	AllowCredentials bool

	// ExposeHeaders lists the response headers a browser script may read
	// beyond the CORS-safelisted ones. Nil means X-Request-ID; an empty,
	// non-nil slice exposes nothing more.
	ExposeHeaders []string

	// MaxAge is how long browsers may cache a preflight answer, to the
	// second. Default 10 minutes; a negative value sends no Max-Age.
	MaxAge time.Duration
}

// Defaults of CORSConfig.
var (
	defaultCORSMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
	defaultCORSHeaders = []string{"Accept", "Accept-Language", "Content-Language", "Content-Type", responses.RequestIDHeader}
	defaultCORSExpose  = []string{responses.RequestIDHeader}
)

const defaultCORSMaxAge = 10 * time.Minute

// CORS returns middleware that answers CORS preflight requests and adds the
// CORS headers to cross-origin requests, built on github.com/gin-contrib/cors.
//
// A preflight (OPTIONS with an Origin header) from an allowed origin is
// answered at once with 204 and never reaches the handler. A request whose
// Origin is not allowed (preflight or not) is refused with 403 problem
// details before the handler runs. Requests without Origin, and requests
// whose Origin is the request's own host, pass untouched.
//
// With "*" in AllowOrigins the answer carries Access-Control-Allow-Origin: *;
// otherwise it echoes the request's origin and adds Vary: Origin.
//
// CORS panics on a bad configuration: no origin at all, an origin that is not
// scheme://host[:port], AllowOriginFunc with "*", or AllowCredentials with "*"
// in AllowOrigins, AllowMethods, AllowHeaders or ExposeHeaders. NewCORS
// returns the same rules' verdict as an error, for a configuration read at
// run time (from the environment, say).
func CORS(cfg CORSConfig) gin.HandlerFunc {
	h, err := newCORS(cfg)
	if err != nil {
		panic("replicaflow: middleware.CORS: " + err.Error())
	}
	return h
}

// NewCORS is CORS returning a bad configuration as an error instead of
// panicking.
func NewCORS(cfg CORSConfig) (gin.HandlerFunc, error) {
	h, err := newCORS(cfg)
	if err != nil {
		return nil, fmt.Errorf("middleware: CORS: %w", err)
	}
	return h, nil
}

func newCORS(cfg CORSConfig) (gin.HandlerFunc, error) {
	cc, allowed, err := corsConfig(cfg)
	if err != nil {
		return nil, err
	}
	h := cors.New(cc)
	if cc.AllowAllOrigins {
		return h, nil
	}
	fn := cfg.AllowOriginFunc
	return func(c *gin.Context) {
		origin := c.Request.Header.Get("Origin")
		if origin == "" {
			// The answer depends on Origin even when there is none: a cache
			// must not serve it to a cross-origin request.
			c.Writer.Header().Add("Vary", "Origin")
			return
		}
		if !sameHost(origin, c.Request.Host) {
			if _, ok := allowed[origin]; !ok && (fn == nil || !fn(origin)) {
				responses.AbortWithProblem(c, responses.NewProblem(http.StatusForbidden,
					"cross-origin requests from this origin are not allowed", nil), nil)
				return
			}
		}
		h(c)
	}, nil
}

// sameHost reports whether origin is the request's own host, which
// gin-contrib/cors treats as a same-origin request.
func sameHost(origin, host string) bool {
	return origin == "http://"+host || origin == "https://"+host
}

// corsConfig checks cfg, fills in the defaults and returns gin-contrib's
// configuration and the set of allowed origins, or what is wrong with cfg.
func corsConfig(cfg CORSConfig) (cors.Config, map[string]struct{}, error) {
	var none cors.Config
	if len(cfg.AllowOrigins) == 0 && cfg.AllowOriginFunc == nil {
		return none, nil, errors.New(`AllowOrigins is empty: list the allowed origins, or "*" for all`)
	}
	cc := cors.Config{
		AllowOriginFunc:  cfg.AllowOriginFunc,
		AllowMethods:     orDefault(cfg.AllowMethods, defaultCORSMethods),
		AllowHeaders:     orDefault(cfg.AllowHeaders, defaultCORSHeaders),
		ExposeHeaders:    orDefault(cfg.ExposeHeaders, defaultCORSExpose),
		AllowCredentials: cfg.AllowCredentials,
		MaxAge:           cfg.MaxAge,
	}
	switch {
	case cc.MaxAge == 0:
		cc.MaxAge = defaultCORSMaxAge
	case cc.MaxAge < 0:
		cc.MaxAge = 0
	}
	allowed := make(map[string]struct{}, len(cfg.AllowOrigins))
	for _, o := range cfg.AllowOrigins {
		o = strings.TrimSpace(o)
		if o == "*" {
			cc.AllowAllOrigins = true
			continue
		}
		if err := checkOrigin(o); err != "" {
			return none, nil, errors.New("origin " + quote(o) + " " + err)
		}
		o = strings.ToLower(o)
		allowed[o] = struct{}{}
		cc.AllowOrigins = append(cc.AllowOrigins, o)
	}
	if cc.AllowAllOrigins {
		if cfg.AllowOriginFunc != nil {
			return none, nil, errors.New(`AllowOriginFunc is useless with AllowOrigins "*"`)
		}
		cc.AllowOrigins = nil
	}
	if cfg.AllowCredentials {
		if cc.AllowAllOrigins {
			return none, nil, errors.New(`AllowCredentials with AllowOrigins "*": browsers reject credentials for a wildcard origin; list the origins`)
		}
		for name, list := range map[string][]string{"AllowMethods": cc.AllowMethods, "AllowHeaders": cc.AllowHeaders, "ExposeHeaders": cc.ExposeHeaders} {
			for _, v := range list {
				if strings.TrimSpace(v) == "*" {
					return none, nil, errors.New("AllowCredentials with " + name + ` "*": browsers read "*" literally on credentialed requests; list the values`)
				}
			}
		}
	}
	if err := cc.Validate(); err != nil {
		return none, nil, err
	}
	return cc, allowed, nil
}

// checkOrigin returns why o is not a serialized origin, or "".
func checkOrigin(o string) string {
	u, err := url.Parse(o)
	switch {
	case err != nil:
		return "does not parse: " + err.Error()
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with http:// or https://"
	case u.Host == "" || u.User != nil:
		return "must name a host"
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return "must be scheme://host[:port] with no path (no trailing slash)"
	}
	return ""
}

func orDefault(v, def []string) []string {
	if v == nil {
		return def
	}
	return v
}

func quote(s string) string { return `"` + s + `"` }
