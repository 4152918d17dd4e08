package requests

import (
	"io"
	"mime/multipart"
	"net/textproto"
)

// UploadFile is a file sent in a multipart form. Bind it with a `file:"name"`
// tag on a field of type *UploadFile (one file) or []*UploadFile (several).
type UploadFile struct {
	// Filename is the name the client gave the file.
	Filename string
	// Size is the length of the content in bytes.
	Size int64
	// ContentType is the part's Content-Type, if the client sent one.
	ContentType string
	// Header is the MIME header of the part.
	Header textproto.MIMEHeader

	fh *multipart.FileHeader
}

func newUploadFile(fh *multipart.FileHeader) *UploadFile {
	return &UploadFile{
		Filename:    fh.Filename,
		Size:        fh.Size,
		ContentType: fh.Header.Get("Content-Type"),
		Header:      fh.Header,
		fh:          fh,
	}
}

// Open opens the content of the file for reading. The caller closes it.
func (f *UploadFile) Open() (multipart.File, error) {
	return f.fh.Open()
}

// ReadAll returns the whole content of the file.
func (f *UploadFile) ReadAll() ([]byte, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
