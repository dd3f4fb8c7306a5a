// Package localworkload runs stand-in workloads for the local backend's EC2
// instances, so that a local instance answers HTTP like a real app: kumo
// (patched) moves instances through pending, running, stopping and stopped,
// and health-checks instance targets at http://<kumo:address>:<port><path>,
// but nothing runs on its instances. It runs only on a laptop or in tests,
// never in a Lambda.
//
// # The stand-in app
//
// An App is one instance's stand-in: one net/http server per port, on the
// instance's own loopback address, serving every path with a short page
// that names the instance ("served by i-…"), the Host and the path it
// received, and the app's uptime, as HTML for a browser and as text/plain
// otherwise (curl, health checks). Each answer carries X-Served-By: <instance
// ID>.
//
// Apps run in the supervisor's process, as goroutines, not as child
// processes: a stand-in needs nothing a process would give it (no
// environment, no crash isolation worth having: it only formats a page),
// in-process servers start in microseconds, and nothing can be left behind
// when a test or the demo ends, whereas a child process outlives a parent
// that is killed. Stopping an app closes its listeners at once, like an
// instance going away; requests under way get StopGrace to finish.
//
// # Tags
//
// What a stand-in does comes from its instance's tags, so a test or the
// demo seeds instances with what they need (Spec.Tags builds them):
//
//	kumo:address                  the loopback address to listen on, e.g. 127.0.0.2 (required;
//	                              also where kumo's health checks and the ALB front go)
//	autostop-local:ports          the ports to serve, comma-separated, e.g. "8080" (required)
//	autostop-local:startup-delay  a Go duration the app takes to listen once the instance
//	                              runs, e.g. "3s" (default 0)
//	autostop-local:health         "ok" (default) or "fail"
//	autostop-local:health-path    with health "fail": the path that answers 500 (a query is
//	                              ignored); unset: every path answers 500
//
// With health "ok" every path answers 200, whatever the target group's
// health check path. With health "fail" and no health path, every path
// answers 500, so the target never becomes healthy whichever path the
// target group checks (the ALB's default health check path is "/"); with a
// health path, only that path fails and the rest of the app still answers
// 200. An instance without kumo:address or autostop-local:ports gets no
// stand-in; one with malformed tags gets none either, and an EventFailed.
//
// For example, an instance tagged
//
//	kumo:address=127.0.0.2  autostop-local:ports=8080  autostop-local:startup-delay=2s
//
// answers http://127.0.0.2:8080/anything two seconds after EC2 reports it
// running, and stops answering as soon as it is stopping.
//
// # The supervisor
//
// A Supervisor polls DescribeInstances (every 200 ms by default) and keeps
// exactly one App per running instance that has both required tags: it
// starts the app when the instance is running (the app listens after its
// startup delay) and stops it as soon as the instance is stopping, stopped,
// shutting-down, terminated or gone. The startup delay counts from the poll
// that saw the instance running, so an app listens at most one poll
// interval later than the delay says. Running reports what runs, Events
// what happened when (OnEvent prints it live).
//
// # Addresses
//
// Each instance gets its own loopback address, as each EC2 instance has its
// own IP, so instances keep the ports their rules say (8080: no root
// needed). Addresses hands them out: 127.0.0.2, 127.0.0.3, … Linux routes
// all of 127.0.0.0/8 to the loopback interface, so these work without
// setup; macOS needs each address added first:
//
//	sudo ifconfig lo0 alias 127.0.0.2 up
//
// Tests use NewRandomAddresses, so that test processes running at the same
// time do not collide on an address and port.
package localworkload
