package localaws

import "context"

// WaitVersionStart waits for the start of name:version that StartVersion or
// the proxy's OnPublished hook began: started is false when none began,
// stub true when the version's package was the runner's code stub.
func (b *Backend) WaitVersionStart(ctx context.Context, name, version string) (started, stub bool, err error) {
	b.mu.Lock()
	vs, ok := b.versions[name+":"+version]
	b.mu.Unlock()
	if !ok {
		return false, false, nil
	}

	select {
	case <-vs.done:
		return true, vs.stub, vs.err
	case <-ctx.Done():
		return true, false, ctx.Err()
	}
}
