package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/flow"
)

// Echo is the JSON echo's request and answer.
type Echo struct {
	Name  string   `json:"name" binding:"required"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

// Query is the query endpoint's request: one query parameter bound into a
// struct with no validation rules.
type Query struct {
	Count int `query:"count"`
}

// Counted is the query endpoint's answer.
type Counted struct {
	Count int `json:"count"`
}

// The two endpoints every server has, and what they are sent.
const (
	echoPath  = "/echo"
	queryPath = "/query"
	queryURL  = queryPath + "?count=42"
)

var echoBody = []byte(`{"name":"replicaflow","count":42,"tags":["a","b","c"]}`)

// ginEngine is the baseline: raw gin in release mode with no middleware,
// decoding, validating and encoding as the typed endpoints do.
func ginEngine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.POST(echoPath, func(c *gin.Context) {
		var in Echo
		if err := c.ShouldBindJSON(&in); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
			return
		}
		c.JSON(http.StatusOK, in)
	})
	e.GET(queryPath, func(c *gin.Context) {
		n, err := strconv.Atoi(c.Query("count"))
		if err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
			return
		}
		c.JSON(http.StatusOK, Counted{Count: n})
	})
	return e
}

// newApp is the replicaflow server: one service with the two typed
// endpoints, the flow's defaults (health, docs, metrics, management) plus
// opts, and a logger that discards.
func newApp(opts ...flow.Option) *flow.Flow {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := flow.New(append([]flow.Option{flow.Logger(quiet)}, opts...)...)
	svc := app.Service()
	flow.Endpoint(svc, "POST", echoPath, func(ctx context.Context, in Echo) (Echo, error) {
		return in, nil
	})
	flow.Endpoint(svc, "GET", queryPath, func(ctx context.Context, in Query) (Counted, error) {
		return Counted(in), nil
	})
	return app
}

// variant is one server compared: raw gin, or replicaflow with options.
type variant struct {
	name string
	opts []flow.Option // nil for raw gin
}

// variants are the servers compared: the first is the baseline, the second
// replicaflow with the defaults on.
var variants = []variant{
	{"gin", nil},
	{"replicaflow", []flow.Option{}},
	{"replicaflow-no-metrics", []flow.Option{flow.Metrics("")}},
}
