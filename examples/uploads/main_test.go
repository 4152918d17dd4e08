package main

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"testing"

	"github.com/replicaflow/replicaflow/flowtest"
)

func TestUpload(t *testing.T) {
	c := flowtest.New(t, NewApp())
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("title", "notes")
	for field, name := range map[string]string{"doc": "a.txt", "extra": "b.txt"} {
		fw, _ := w.CreateFormFile(field, name)
		fw.Write([]byte("hello"))
	}
	w.Close()
	req := httptest.NewRequest("POST", "/upload", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res := c.Do(req)
	var got Stored
	res.Decode(&got)
	if res.Status != 201 || got.Title != "notes" || len(got.Files) != 2 || got.Files[0].Size != 5 ||
		got.Files[0].SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("%d %+v", res.Status, got)
	}

	// No file: 422 naming it.
	body.Reset()
	w = multipart.NewWriter(&body)
	w.WriteField("title", "notes")
	w.Close()
	req = httptest.NewRequest("POST", "/upload", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res = c.Do(req)
	if p := res.Problem(); res.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Location != "file.doc" {
		t.Fatalf("%d %+v", res.Status, p)
	}
}
