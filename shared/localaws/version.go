package localaws

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/awsproxy"
)

// A published version's own code.
//
// On AWS a published version runs the deployment package it was published
// with. The runner's functions are deployed with a code stub (DeployFunction)
// and run the binary it was given; a version published from the stub is
// answered by that binary, through kumo's fallback from /_runtime/<name>:<v>
// to /_runtime/<name>. A version whose package holds a real bootstrap (code
// uploaded with UpdateFunctionCode, then published) gets processes of its
// own, running that bootstrap: StartVersion.

// maxPackage bounds a downloaded deployment package and its extracted
// bootstrap (AWS: 50 MB zipped for a direct upload, 250 MB unzipped).
const maxPackage = 256 << 20

// versionSettle is how long StartVersion waits after the version's first
// poll was written to kumo, for kumo to have read it: until then kumo sends
// the version's invocations to $LATEST's processes.
const versionSettle = 20 * time.Millisecond

// publishedStartTimeout bounds a StartVersion the proxy's OnPublished hook
// runs.
const publishedStartTimeout = 2 * time.Minute

// versionStart is one start of a published version's processes; done is
// closed when it has ended, with err.
type versionStart struct {
	done chan struct{}
	err  error
	// stub: the version's package is the runner's code stub, nothing to
	// start.
	stub bool
}

// StartVersion makes a published version of a deployed function run its own
// code, as on AWS: it reads the version's deployment package (GetFunction
// with Qualifier version, then a download of Code.Location) and, when the
// package holds a bootstrap, extracts it into a directory the backend owns
// (removed by Stop) and starts the version's processes (FunctionProcess with
// Version; the function's MemoryMB and MaxProcesses, the version's
// Environment). It returns once a process polls /_runtime/<name>:<version>,
// from when kumo sends the version's invocations, and those of the aliases
// pointing at it, there.
//
// A version published from the runner's code stub (DeployFunction) needs
// nothing: the function's processes answer it. A second call for a version
// started (or being started) does nothing more than wait for that start;
// one after a failed start tries again.
//
// The backend calls it by itself when a version is published through its
// proxy (every function's AWS calls go through it), and holds the
// invocations of the function's versions and aliases made through the proxy
// until it has returned; a caller that publishes directly to kumo calls it.
func (b *Backend) StartVersion(ctx context.Context, name, version string) error {
	if !isVersionNumber(version) {
		return fmt.Errorf("start version %s:%s: not a published version number", name, version)
	}

	for {
		vs, owner, err := b.claimVersion(name, version)
		if err != nil {
			return err
		}
		if owner {
			b.runVersionStart(ctx, vs, name, version)
			return vs.err
		}

		select {
		case <-vs.done:
		case <-ctx.Done():
			return fmt.Errorf("start version %s:%s: %w", name, version, ctx.Err())
		}
		if vs.err == nil {
			return nil
		}
		// It failed: try again (claimVersion replaces a failed start).
	}
}

// versionPublished is the proxy's OnPublished hook: it starts the version
// in the background (the hook must not block the publisher's response),
// unless it is started already, and logs how that went.
func (b *Backend) versionPublished(p awsproxy.Published) {
	vs, owner, err := b.claimVersion(p.Function, p.Version)
	if err != nil || !owner {
		return
	}

	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), publishedStartTimeout)
		defer cancel()

		b.runVersionStart(ctx, vs, p.Function, p.Version)
		if vs.err != nil {
			b.opts.Logger.Warn("start published version", "function", p.Function, "version", p.Version, "publisher", p.Caller, "error", vs.err)
		}
	}()
}

// holdVersionInvoke is the proxy's BeforeInvoke hook: an invocation of a
// version or alias of a function waits for the starts of the function's
// versions under way (the one published a moment ago, typically), so that
// it reaches the version's own code, not the $LATEST processes kumo falls
// back to until the version's first poll. Invocations straight to kumo are
// not held: a caller that publishes and invokes at once there waits with
// StartVersion.
func (b *Backend) holdVersionInvoke(ctx context.Context, function, qualifier string) {
	if qualifier == "" || qualifier == "$LATEST" {
		return
	}

	b.mu.Lock()
	var pending []*versionStart
	for key, vs := range b.versions {
		if name, _, _ := strings.Cut(key, ":"); name != function {
			continue
		}
		select {
		case <-vs.done:
		default:
			pending = append(pending, vs)
		}
	}
	b.mu.Unlock()

	for _, vs := range pending {
		select {
		case <-vs.done:
		case <-ctx.Done():
			return
		}
	}
}

// claimVersion returns the start of name:version, new (owner: the caller
// must run it with runVersionStart) when there is none yet or the last one
// failed.
func (b *Backend) claimVersion(name, version string) (vs *versionStart, owner bool, err error) {
	key := name + ":" + version

	b.mu.Lock()
	defer b.mu.Unlock()

	if b.stopped {
		return nil, false, fmt.Errorf("start version %s: backend stopped", key)
	}
	if vs, ok := b.versions[key]; ok {
		select {
		case <-vs.done:
			if vs.err == nil {
				return vs, false, nil
			}
		default:
			return vs, false, nil
		}
	}

	vs = &versionStart{done: make(chan struct{})}
	b.versions[key] = vs
	b.versionWork.Add(1) // Stop waits for it

	return vs, true, nil
}

// runVersionStart runs a start claimed with claimVersion, until it ends or
// ctx does or the backend stops.
func (b *Backend) runVersionStart(ctx context.Context, vs *versionStart, name, version string) {
	defer b.versionWork.Done()
	defer close(vs.done)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.stopCtx, cancel)()

	vs.stub, vs.err = b.startVersion(ctx, name, version)
	if vs.err != nil {
		vs.err = fmt.Errorf("start version %s:%s: %w", name, version, vs.err)
	}
}

// startVersion does StartVersion's work; stub reports a version published
// from the runner's code stub (nothing started).
func (b *Backend) startVersion(ctx context.Context, name, version string) (stub bool, err error) {
	awsCfg, err := b.AWSConfig(ctx)
	if err != nil {
		return false, err
	}
	// Straight to kumo: the runner's own calls are not the project's.
	out, err := lambda.NewFromConfig(awsCfg).GetFunction(ctx, &lambda.GetFunctionInput{
		FunctionName: aws.String(name),
		Qualifier:    aws.String(version),
	})
	if err != nil {
		return false, fmt.Errorf("get function: %w", err)
	}
	if out.Code == nil || aws.ToString(out.Code.Location) == "" {
		return false, errors.New("GetFunction returned no Code.Location")
	}

	pkg, err := download(ctx, aws.ToString(out.Code.Location))
	if err != nil {
		return false, err
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return false, fmt.Errorf("read the deployment package: %w", err)
	}
	var bootstrap *zip.File
	for _, f := range zr.File {
		switch f.Name {
		case "bootstrap":
			bootstrap = f
		case "bootstrap.sha256":
			stub = true
		}
	}
	if bootstrap == nil {
		if stub {
			b.opts.Logger.Info("published version runs the deployed binary (code stub)", "function", name, "version", version)
			return true, nil
		}
		return false, errors.New("the deployment package has no bootstrap")
	}

	binary, err := b.extractBootstrap(name, version, bootstrap)
	if err != nil {
		return false, err
	}

	fn := FunctionProcess{Name: name, Version: version, Binary: binary}
	b.mu.Lock()
	if deployed, ok := b.fnSpecs[name]; ok {
		fn.Env, fn.MemoryMB, fn.MaxProcesses, fn.ReadyTimeout = deployed.Env, deployed.MemoryMB, deployed.MaxProcesses, deployed.ReadyTimeout
	}
	b.mu.Unlock()
	if cfg := out.Configuration; cfg != nil {
		// The version's own environment: $LATEST's when it was published.
		if cfg.Environment != nil {
			fn.Env = cfg.Environment.Variables
		}
		if fn.MemoryMB == 0 {
			fn.MemoryMB = int(aws.ToInt32(cfg.MemorySize))
		}
	}
	if err := b.StartFunction(ctx, fn); err != nil {
		return false, err
	}

	// The first poll has been written to kumo; let kumo read it before
	// the caller invokes the version.
	select {
	case <-time.After(versionSettle):
	case <-ctx.Done():
		return false, ctx.Err()
	}
	b.opts.Logger.Info("published version runs its own code", "function", name, "version", version, "binary", binary)

	return false, nil
}

// download GETs a deployment package (GetFunction's Code.Location: on kumo,
// <kumo>/kumo/lambda/code/<name>/<version>, patch 0026).
func download(ctx context.Context, location string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, fmt.Errorf("download the deployment package: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download the deployment package: %w", err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPackage+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("download the deployment package from %s: %w", location, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("download the deployment package from %s: %s: %.200s", location, resp.Status, body)
	case len(body) > maxPackage:
		return nil, fmt.Errorf("download the deployment package from %s: over %d bytes", location, maxPackage)
	}

	return body, nil
}

// extractBootstrap writes a package's bootstrap, executable, into a new
// directory under the backend's version directory and returns its path.
func (b *Backend) extractBootstrap(name, version string, f *zip.File) (string, error) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return "", errors.New("backend stopped")
	}
	if b.versionDir == "" {
		dir, err := os.MkdirTemp("", "autostop-localaws-versions-")
		if err != nil {
			b.mu.Unlock()
			return "", fmt.Errorf("create the versions' directory: %w", err)
		}
		b.versionDir = dir
	}
	root := b.versionDir
	b.mu.Unlock()

	dir, err := os.MkdirTemp(root, name+"-"+version+"-")
	if err != nil {
		return "", fmt.Errorf("create the version's directory: %w", err)
	}
	path := filepath.Join(dir, "bootstrap")

	src, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("open the package's bootstrap: %w", err)
	}
	defer src.Close()

	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return "", fmt.Errorf("extract bootstrap: %w", err)
	}
	n, err := io.Copy(dst, io.LimitReader(src, maxPackage+1))
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return "", fmt.Errorf("extract bootstrap to %s: %w", path, err)
	case n > maxPackage:
		return "", fmt.Errorf("extract bootstrap: over %d bytes", maxPackage)
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return "", fmt.Errorf("extract bootstrap: %w", err)
	}

	return path, nil
}

// isVersionNumber reports whether v names a published version ("1", "2", …),
// not $LATEST or an alias.
func isVersionNumber(v string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}

	return true
}
