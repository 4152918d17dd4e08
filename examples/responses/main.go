// Responses shows every response type: JSON, a typed reply with headers,
// HTML, plain text, a file from disk or from memory, a redirect, a stream,
// server-sent events, and errors as problem details.
//
//	go run ./examples/responses
//	curl -N localhost:8000/count?to=5
//	curl -N localhost:8000/ticks?n=3
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/responses"
)

// Empty is the input of endpoints that take none.
type Empty struct{}

// Count asks for a stream of numbers.
type Count struct {
	To    int           `query:"to" binding:"min=0,max=1000"`
	Every time.Duration `query:"every"`
}

// Item is a JSON value.
type Item struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// NewApp builds the responses flow. file is the file /file serves.
func NewApp(file string, opts ...flow.Option) *flow.Flow {
	app := flow.New(opts...)
	svc := app.Service()
	flow.Endpoint(svc, "POST", "/items", func(ctx context.Context, in Item) (Item, error) {
		return in, nil // a plain value is JSON
	}, endpoint.Status(http.StatusCreated))
	flow.Endpoint(svc, "PUT", "/items/{id}", func(ctx context.Context, in struct {
		ID   int  `path:"id"`
		Item Item `json:"item"`
	}) (responses.Reply[Item], error) {
		// A typed body with headers: documented as an Item.
		in.Item.ID = in.ID
		return responses.Reply[Item]{
			Header: http.Header{"Content-Location": {fmt.Sprintf("/items/%d", in.ID)}},
			Body:   in.Item,
		}, nil
	})
	flow.Endpoint(svc, "GET", "/json", func(ctx context.Context, _ Empty) (responses.JSON, error) {
		return responses.JSON{Header: http.Header{"Cache-Control": {"max-age=60"}}, Body: []Item{{1, "a"}}}, nil
	})
	flow.Endpoint(svc, "GET", "/page", func(ctx context.Context, _ Empty) (responses.HTML, error) {
		return responses.HTML{Body: "<!doctype html><title>hi</title><h1>hello</h1>"}, nil
	})
	flow.Endpoint(svc, "GET", "/text", func(ctx context.Context, _ Empty) (responses.PlainText, error) {
		return responses.PlainText{Body: "hello"}, nil
	})
	flow.Endpoint(svc, "GET", "/file", func(ctx context.Context, _ Empty) (responses.File, error) {
		return responses.File{Path: file, Name: "report.txt"}, nil
	}, endpoint.ContentType("text/plain")) // the type of a .txt file
	flow.Endpoint(svc, "GET", "/report.csv", func(ctx context.Context, _ Empty) (responses.File, error) {
		// A file made in memory: bytes through a reader, with its type.
		csv := []byte("id,name\n1,a\n")
		return responses.File{Reader: bytes.NewReader(csv), Name: "report.csv", ContentType: "text/csv"}, nil
	}, endpoint.ContentType("text/csv"))

	flow.Endpoint(svc, "GET", "/old", func(ctx context.Context, _ Empty) (responses.Redirect, error) {
		return responses.Redirect{URL: "/page"}, nil
	}, endpoint.Status(http.StatusMovedPermanently)) // documented, and sent

	flow.Endpoint(svc, "GET", "/count", func(ctx context.Context, in Count) (responses.Streaming, error) {
		return responses.Stream("text/plain", func(yield func([]byte) bool) {
			for i := 1; i <= in.To; i++ {
				if !yield(fmt.Appendf(nil, "%d\n", i)) {
					return // the client went away
				}
				time.Sleep(in.Every)
			}
		}), nil
	}, endpoint.ContentType("text/plain"))
	flow.Endpoint(svc, "GET", "/ticks", func(ctx context.Context, in struct {
		N int `query:"n" binding:"min=1,max=100"`
	}) (responses.EventStream, error) {
		return responses.EventStream{Events: func(yield func(responses.Event) bool) {
			for i := range in.N {
				if !yield(responses.Event{Event: "tick", ID: fmt.Sprint(i), Data: map[string]int{"n": i}}) {
					return
				}
			}
		}}, nil
	})
	flow.Endpoint(svc, "GET", "/items/{id}", func(ctx context.Context, in struct {
		ID int `path:"id"`
	}) (Item, error) {
		if in.ID != 1 {
			return Item{}, responses.Errorf(http.StatusNotFound, "no item %d", in.ID)
		}
		return Item{1, "a"}, nil
	}, endpoint.Errors(http.StatusNotFound)) // documents the Errorf above

	return app
}

func main() {
	f, err := os.CreateTemp("", "report-*.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	fmt.Fprintln(f, "a report")
	f.Close()
	if err := flow.Run(NewApp(f.Name())); err != nil {
		log.Fatal(err)
	}
}
