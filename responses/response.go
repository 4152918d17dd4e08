package responses

import (
	"errors"
	"io"
	"io/fs"
	"iter"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/gin-gonic/gin"
)

// Response is a value that renders itself. status is the endpoint's success
// status; a response that carries its own non-zero status uses that instead.
type Response interface {
	Render(c *gin.Context, status int)
}

func pick(own, endpoint int) int {
	if own != 0 {
		return own
	}
	return endpoint
}

func setHeader(c *gin.Context, h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			c.Writer.Header().Add(k, v)
		}
	}
}

// JSON renders Body as JSON with Status (default: the endpoint's status) and
// extra headers.
type JSON struct {
	Status int
	Header http.Header
	Body   any
}

// Render implements Response.
func (r JSON) Render(c *gin.Context, status int) {
	setHeader(c, r.Header)
	c.JSON(pick(r.Status, status), r.Body)
}

// Reply renders Body as JSON with Status (default: the endpoint's status)
// and extra headers, like JSON, but keeps Body's type: the OpenAPI document
// describes a Reply[T] endpoint's answer with T's schema, as if it returned
// T. A handler that must set a header or choose its status at run time
// returns one:
//
//	func(ctx context.Context, in NewItem) (responses.Reply[Item], error) {
//		item := store(in)
//		return responses.Reply[Item]{
//			Header: http.Header{"Location": {"/items/" + item.ID}},
//			Body:   item,
//		}, nil
//	}
//
// The document gives T for the endpoint's status (endpoint.Status): a
// Status chosen at run time is not in it.
type Reply[T any] struct {
	Status int
	Header http.Header
	Body   T
}

// Render implements Response.
func (r Reply[T]) Render(c *gin.Context, status int) {
	setHeader(c, r.Header)
	c.JSON(pick(r.Status, status), r.Body)
}

// BodyType returns T, the type the OpenAPI document describes.
func (Reply[T]) BodyType() reflect.Type { return reflect.TypeFor[T]() }

// HTML renders Body as text/html.
type HTML struct {
	Status int
	Header http.Header
	Body   string
}

// Render implements Response.
func (r HTML) Render(c *gin.Context, status int) {
	setHeader(c, r.Header)
	c.Data(pick(r.Status, status), "text/html; charset=utf-8", []byte(r.Body))
}

// PlainText renders Body as text/plain.
type PlainText struct {
	Status int
	Header http.Header
	Body   string
}

// Render implements Response.
func (r PlainText) Render(c *gin.Context, status int) {
	setHeader(c, r.Header)
	c.Data(pick(r.Status, status), "text/plain; charset=utf-8", []byte(r.Body))
}

// File serves a file: the one at Path, or the content Reader gives (bytes
// through bytes.NewReader, or any io.Reader). A path, or a Reader that can
// seek (an io.ReadSeeker), has Range and If-Modified-Since support (206
// Partial Content, 304 Not Modified, 416 Range Not Satisfiable as
// net/http's plain text). With Name set it is sent as an attachment under
// that name.
//
// The content type is ContentType; without one, it comes from the name's
// extension (Name, else Path), then from the content itself for a path or
// a seeker, and is application/octet-stream for a plain reader. The
// OpenAPI document gives the one endpoint.ContentType names.
type File struct {
	Path        string
	Reader      io.Reader // used instead of Path when set
	Name        string
	ContentType string
	ModTime     time.Time // a Reader's last modification, for If-Modified-Since (zero: none)
	Header      http.Header
}

// Render implements Response. A file at Path that does not exist, or is a
// directory, is a 404 as problem details; one that cannot be read, or a
// Reader that fails, is recorded as the render's error (c.Error), which an
// endpoint answers 500 when nothing was sent yet.
func (r File) Render(c *gin.Context, status int) {
	if r.Reader != nil {
		r.renderReader(c, status)
		return
	}
	switch fi, err := os.Stat(r.Path); {
	case errors.Is(err, fs.ErrNotExist) || err == nil && fi.IsDir():
		AbortWithProblem(c, NewProblem(http.StatusNotFound, "no such file", nil), nil)
		return
	case err != nil:
		c.Error(err) // the endpoint answers 500 and logs it
		return
	}
	setHeader(c, r.Header)
	if r.ContentType != "" {
		c.Header("Content-Type", r.ContentType)
	}
	if r.Name != "" {
		c.FileAttachment(r.Path, r.Name)
		return
	}
	c.File(r.Path)
}

func (r File) renderReader(c *gin.Context, status int) {
	setHeader(c, r.Header)
	h := c.Writer.Header()
	if r.ContentType != "" {
		h.Set("Content-Type", r.ContentType)
	}
	if r.Name != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": r.Name}))
	}
	if rs, ok := r.Reader.(io.ReadSeeker); ok {
		// net/http picks the type from the name, then the content, when
		// none is set.
		http.ServeContent(c.Writer, c.Request, r.Name, r.ModTime, rs)
		return
	}
	if h.Get("Content-Type") == "" {
		if t := mime.TypeByExtension(filepath.Ext(r.Name)); t != "" {
			h.Set("Content-Type", t)
		} else {
			h.Set("Content-Type", "application/octet-stream")
		}
	}
	c.Status(status)
	if c.Request.Method == http.MethodHead {
		c.Writer.WriteHeaderNow()
		return
	}
	if _, err := io.Copy(c.Writer, r.Reader); err != nil {
		c.Error(err) // the endpoint answers 500 when nothing was sent, and logs it
	}
}

// Redirect sends the client to URL with Status; without one, with the
// endpoint's status when that is a 3xx (endpoint.Status, which the OpenAPI
// document gives), else 307 Temporary Redirect, which keeps the method and
// body.
type Redirect struct {
	URL    string
	Status int
}

// Render implements Response.
func (r Redirect) Render(c *gin.Context, status int) {
	if status < 300 || status > 399 {
		status = http.StatusTemporaryRedirect
	}
	c.Redirect(pick(r.Status, status), r.URL)
}

// Streaming writes each chunk of Chunks as it comes and flushes it to the
// client. It stops pulling chunks as soon as the client goes away.
type Streaming struct {
	Status      int
	Header      http.Header
	ContentType string // default application/octet-stream
	Chunks      iter.Seq[[]byte]
}

// Render implements Response.
func (r Streaming) Render(c *gin.Context, status int) {
	setHeader(c, r.Header)
	ct := r.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Header("Content-Type", ct)
	c.Status(pick(r.Status, status))
	c.Writer.WriteHeaderNow()
	c.Writer.Flush()
	done := c.Request.Context().Done()
	for chunk := range r.Chunks {
		if _, err := c.Writer.Write(chunk); err != nil {
			return
		}
		c.Writer.Flush()
		select {
		case <-done:
			return
		default:
		}
	}
}

// Stream returns a Streaming response of the given content type.
func Stream(contentType string, chunks iter.Seq[[]byte]) Streaming {
	return Streaming{ContentType: contentType, Chunks: chunks}
}
