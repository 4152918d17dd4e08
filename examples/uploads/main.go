// Uploads shows form and file input: a multipart form with a title, a
// single file and any number of attachments.
//
//	go run ./examples/uploads
//	curl -F title=notes -F doc=@README.md -F extra=@go.mod localhost:8000/upload
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/service"
)

// Upload is a multipart form: fields and files.
type Upload struct {
	Title string                 `form:"title" binding:"required,max=100"`
	Doc   *requests.UploadFile   `file:"doc" binding:"required"`
	Extra []*requests.UploadFile `file:"extra"`
}

// Stored describes what was received.
type Stored struct {
	Title string     `json:"title"`
	Files []FileInfo `json:"files"`
}

// FileInfo is one received file.
type FileInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func describe(f *requests.UploadFile) (FileInfo, error) {
	data, err := f.ReadAll()
	if err != nil {
		return FileInfo{}, err
	}
	sum := sha256.Sum256(data)
	return FileInfo{Name: f.Filename, Size: f.Size, SHA256: hex.EncodeToString(sum[:])}, nil
}

// NewApp builds the uploads flow.
func NewApp(opts ...flow.Option) *flow.Flow {
	app := flow.New(opts...)
	svc := app.Service(service.Name("uploads"))
	flow.Endpoint(svc, "POST", "/upload", func(ctx context.Context, in Upload) (Stored, error) {
		out := Stored{Title: in.Title}
		for _, f := range append([]*requests.UploadFile{in.Doc}, in.Extra...) {
			info, err := describe(f)
			if err != nil {
				return out, err
			}
			out.Files = append(out.Files, info)
		}
		return out, nil
	}, endpoint.Status(201), endpoint.BodyLimit(32<<20), endpoint.Summary("Store a document and its attachments"))
	return app
}

func main() {
	if err := flow.Run(NewApp()); err != nil {
		log.Fatal(err)
	}
}
