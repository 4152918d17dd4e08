package manage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/internal/guard"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// MaxBody is the largest request body the API reads (a configuration or a
// registration); a larger one is refused with 413.
const MaxBody = 64 << 10

// newHandler builds the API's routes under the prefix, behind the guard.
func (m *Manager) newHandler() http.Handler {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.Use(responses.Recover(nil))
	e.NoRoute(func(c *gin.Context) {
		m.fail(c, responses.Errorf(http.StatusNotFound, "no management route %s", c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		m.fail(c, responses.Errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})

	g := e.Group(m.opts.Prefix)
	g.GET("", m.getApp)
	g.GET("/", m.getApp)
	g.GET("/services", m.getServices)
	g.POST("/services/register", m.postRegister)
	g.GET("/services/:name", m.getService)
	g.DELETE("/services/:name", m.deleteService)
	g.POST("/services/:name/start", m.postStart)
	g.POST("/services/:name/stop", m.postStop)
	g.POST("/services/:name/configure", m.postConfigure)
	g.POST("/services/:name/configure_and_start", m.postConfigureAndStart)
	// HEAD answers on every GET route, as net/http's file server and the
	// services' routes do; the server drops the body.
	for _, r := range e.Routes() {
		if r.Method == http.MethodGet {
			e.HEAD(r.Path, r.HandlerFunc)
		}
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !guard.Allowed(m.token, w, r) {
			return
		}
		e.ServeHTTP(w, r)
	})
}

func (m *Manager) fail(c *gin.Context, err error) {
	p, h, _ := responses.ProblemFor(err)
	responses.AbortWithProblem(c, p, h)
}

func (m *Manager) getApp(c *gin.Context) {
	app := m.App()
	app.Remote, app.RemoteError = m.remoteList(c)
	c.JSON(http.StatusOK, app)
}

func (m *Manager) getServices(c *gin.Context) {
	list := m.List()
	list.Remote, list.RemoteError = m.remoteList(c)
	c.JSON(http.StatusOK, list)
}

// remoteList lists the remote instances, or says why it could not: a
// listing that fails must not hide the local services.
func (m *Manager) remoteList(ctx context.Context) ([]RemoteInstance, string) {
	list, err := m.Remote(ctx)
	if err != nil {
		return nil, err.Error()
	}
	return list, ""
}

func (m *Manager) getService(c *gin.Context) {
	st, err := m.Status(c.Param("name"))
	if err != nil {
		m.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

func (m *Manager) postRegister(c *gin.Context) {
	data, err := readBody(c)
	if err != nil {
		m.fail(c, err)
		return
	}
	var reg Registration
	if err := requests.DecodeJSON(bytes.NewReader(data), &reg); err != nil {
		m.fail(c, err)
		return
	}
	// An error with a service means it was registered but its autostart
	// failed: the answer says so.
	svc, err := m.Register(c.Request.Context(), reg.ServiceName, reg.InstanceName)
	if err != nil {
		m.fail(c, err)
		return
	}
	cl, _ := m.opts.Classes.Lookup(reg.ServiceName)
	c.JSON(http.StatusOK, Registered{Status: "registered", Service: svc.Name(), Type: cl.Type})
}

func (m *Manager) deleteService(c *gin.Context) {
	name := c.Param("name")
	if err := m.Deregister(c.Request.Context(), name); err != nil {
		m.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Result{Status: "deregistered", Service: name})
}

func (m *Manager) postStart(c *gin.Context) {
	name := c.Param("name")
	if err := m.Start(c.Request.Context(), name); err != nil {
		m.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Result{Status: "started", Service: name})
}

func (m *Manager) postStop(c *gin.Context) {
	name := c.Param("name")
	if err := m.Stop(c.Request.Context(), name); err != nil {
		m.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Result{Status: "stopped", Service: name})
}

func (m *Manager) postConfigure(c *gin.Context) {
	m.configure(c, "configured", m.Configure)
}

func (m *Manager) postConfigureAndStart(c *gin.Context) {
	m.configure(c, "configured and started", m.ConfigureAndStart)
}

func (m *Manager) configure(c *gin.Context, status string, apply func(ctx context.Context, name string, data []byte) error) {
	name := c.Param("name")
	if _, err := m.Lookup(name); err != nil {
		m.fail(c, err)
		return
	}
	data, err := readBody(c)
	if err != nil {
		m.fail(c, err)
		return
	}
	if err := apply(c.Request.Context(), name, data); err != nil {
		m.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Result{Status: status, Service: name})
}

// readBody reads the request body, at most MaxBody bytes, after checking
// that it is JSON when it says what it is.
func readBody(c *gin.Context) ([]byte, error) {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return nil, &requests.Error{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json, not " + ct}
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &requests.Error{Status: http.StatusRequestEntityTooLarge, Detail: "the body is larger than 64 KiB", Err: err}
		}
		return nil, &requests.Error{Status: http.StatusBadRequest, Detail: "the body could not be read", Err: err}
	}
	return data, nil
}
