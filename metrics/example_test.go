package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/metrics"
)

func ExampleMetrics_Middleware() {
	m := metrics.New()
	e := gin.New()
	e.Use(m.Middleware("users"))
	e.GET("/users/:id", func(c *gin.Context) { c.String(http.StatusOK, "hi") })
	for _, id := range []string{"1", "2"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/"+id, nil))
	}

	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.SplitSeq(w.Body.String(), "\n") {
		if strings.HasPrefix(line, "replicaflow_http_requests_total{") {
			fmt.Println(line)
		}
	}
	// Output:
	// replicaflow_http_requests_total{endpoint="/users/:id",method="GET",service="users",status="200"} 2
}
