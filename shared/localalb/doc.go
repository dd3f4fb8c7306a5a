// Package localalb is the local ALB front: the data plane kumo's ELBv2 lacks
// (gap 8: it stores load balancers, listeners, rules and target groups but
// serves no traffic). It runs only on a laptop or in tests, never in a Lambda.
//
// A Front is an http.Handler for one load balancer. For each request it
// evaluates the load balancer's listener rules as read from ELBv2 (cached for
// Config.CacheTTL, refreshed by one caller at a time) and does what the ALB
// would: forward to a Lambda target group (an ALB event, lambda Invoke, the
// function's answer converted back), forward to an instance or ip target
// group (a reverse proxy to a healthy target, round robin), redirect, or
// answer a fixed response; with the ALB's own error pages (413, 502, 503,
// 504) where the ALB would answer one.
//
// Which listener: the front itself speaks plain HTTP on loopback, but it
// evaluates the load balancer's HTTPS listener on port 443 when there is one,
// since a client following the HTTP listener's port-80 redirect would end up
// there; otherwise the HTTP listener on port 80; otherwise the HTTPS, then the
// HTTP, listener with the lowest port. Targets see the evaluated listener:
// x-forwarded-proto is https and x-forwarded-port 443 when it is HTTPS.
//
// Host: the request's Host without its port; a name ending in ".localhost" is
// evaluated without that suffix, so a browser can open
// http://demo.autostop.example.test.localhost:PORT/ without a hosts-file
// entry (Chromium and curl resolve every *.localhost name to loopback).
// Targets receive the host as the ALB would pass it (without the suffix and
// the port). When the client used a .localhost name, a Location header that
// points at the evaluated host (from a redirect action or a target) is
// rewritten to http://<the client's Host>, so the browser can follow it.
//
// Metrics: a MetricsPublisher, set as Config.Observer, publishes the
// requests forwarded to each target group to CloudWatch as the ALB does
// (AWS/ApplicationELB RequestCount, dimensions LoadBalancer and
// TargetGroup, Sum per minute, nothing for a minute without requests), so
// code reading the ALB's metrics runs unchanged on the local backend.
package localalb
