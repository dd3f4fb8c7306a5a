package lambdapkg

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestZipThenFind(t *testing.T) {
	pkg, err := Zip([]byte("#!/bin/sh\necho hi\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Find(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, want 0755", f.Mode().Perm())
	}
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); string(got) != "#!/bin/sh\necho hi\n" {
		t.Errorf("bootstrap holds %q", got)
	}
}

func TestFind(t *testing.T) {
	other := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("handler.py")
		_, _ = w.Write([]byte("pass"))
		_ = zw.Close()
		return buf.Bytes()
	}()
	for _, c := range []struct {
		name    string
		pkg     []byte
		want    error
		wantErr string
	}{
		{name: "not a zip", pkg: []byte("MZ not a zip"), wantErr: "not a zip"},
		{name: "a zip without bootstrap", pkg: other, want: ErrNoBootstrap},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Find(c.pkg)
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("error %v, want %v", err, c.want)
			case c.wantErr != "" && !bytes.Contains([]byte(err.Error()), []byte(c.wantErr)):
				t.Errorf("error %v, want it to say %q", err, c.wantErr)
			}
		})
	}
}
