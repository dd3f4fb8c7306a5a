// Package lambdapkg makes and reads Lambda deployment packages for the
// OS-only runtimes (provided.al2023): a zip whose executable "bootstrap" is
// the function.
package lambdapkg

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Bootstrap is the name of the executable the OS-only runtimes run.
const Bootstrap = "bootstrap"

// ErrNoBootstrap is returned by Find for a zip without a bootstrap.
var ErrNoBootstrap = errors.New("the zip has no bootstrap (a provided.al2023 function's executable)")

// Zip returns a deployment package holding binary as an executable
// bootstrap (mode 0755: Lambda runs it as is).
func Zip(binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: Bootstrap, Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", Bootstrap, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(binary)); err != nil {
		return nil, fmt.Errorf("zip %s: %w", Bootstrap, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip %s: %w", Bootstrap, err)
	}

	return buf.Bytes(), nil
}

// ZipFile is Zip of the executable at path.
func ZipFile(path string) ([]byte, error) {
	binary, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	return Zip(binary)
}

// Find returns pkg's bootstrap entry: an error when pkg is not a zip,
// ErrNoBootstrap when it has none.
func Find(pkg []byte) (*zip.File, error) {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return nil, fmt.Errorf("not a zip: %w", err)
	}
	for _, f := range zr.File {
		if f.Name == Bootstrap {
			return f, nil
		}
	}

	return nil, ErrNoBootstrap
}
