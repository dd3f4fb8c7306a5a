// Package idle decides which running AutoStopping rules are idle: which rules
// have had no requests for their idleMinutes, judged from the AWS/ApplicationELB
// RequestCount metric of their target group, as the load balancer (or, on the
// local backend, shared/localalb's front) publishes it to CloudWatch.
//
// It is pure: Queries builds the GetMetricData inputs of one watcher run,
// Decide turns their results into one Decision per rule. Reading the metric,
// stopping instances and writing the rules table are the idle watcher's.
//
// # The window
//
// A rule is judged on its idle window, a run of full metric periods:
//
//	end   = (now - Lag), aligned down to the period
//	start = end - idleMinutes
//
// and only once the rule has run for all of it: start must not be before
// readyAt (the last switch of traffic to the instances) aligned up to the
// period. A rule whose window would start earlier is not judged yet (not
// idle), so a rule runs at least idleMinutes + Lag after every wake.
//
// A datapoint is the Sum of one period's requests, timestamped at the
// period's start; a period without requests has no datapoint, and a missing
// datapoint is zero requests. The rule is idle when the datapoints of its
// window sum to zero and no datapoint after the window is visible either
// (see "Traffic in the lag").
//
// # Why the window ends Lag before now
//
// CloudWatch makes a period's RequestCount readable minutes after the period
// ends. Were the window to end at now, its last minutes would read as "no
// datapoint" whether or not they had requests, and a rule whose only recent
// request fell in them would be stopped while traffic still flows: the
// failure users of other AutoStopping tools report ("the metric arrived
// late"). Every datapoint of a window ending Lag before now has been
// published when the watcher reads it, provided Lag is at least CloudWatch's
// publication delay (from a period's end to its datapoint being readable).
// So, with Lag above that delay:
//
//   - traffic whose gaps are all shorter than idleMinutes never stops the
//     rule: every window of idleMinutes holds at least one request, and every
//     one of its datapoints is readable when the window is judged;
//   - a datapoint that arrives late arrives, at the latest, before its
//     period falls into a judged window: late publication only ever delays
//     when a period is judged, never makes a judged window look emptier
//     than it was.
//
// If Lag is below the delay, neither holds: a window's last periods may
// still be unpublished, so the rule can be stopped while traffic flows
// (TestSimulatedTraffic shows both).
//
// # What the lag costs
//
// The watcher sees nothing newer than Lag, so a rule is stopped no sooner
// than idleMinutes + Lag after its last request, and no later than
// idleMinutes + Lag + one period + one watcher interval: with the default
// 3-minute lag, a rule with idleMinutes 15 runs 18 to ~20 minutes after its
// last request — up to Lag (plus alignment) longer than idleMinutes, paid in
// instance time on every sleep. A lag longer than needed costs the same
// every sleep; a shorter one risks stopping workloads in use.
//
// # Traffic in the lag
//
// Requests in the last Lag before now are invisible unless CloudWatch has
// already published them. Datapoints that are already visible after the
// window (between its end and now) are not counted in the window's Requests,
// but they do keep the rule running (Decision.LaterRequests): such a
// datapoint is proof that traffic is flowing right now, and stopping the
// rule under it would be the failure the lag exists to prevent. They are
// counted in the window of a later run. This is never less safe than
// ignoring them: it can only keep a rule running that the window alone would
// stop. Requests of the lag that are not published yet cannot be seen; a rule
// idle for its whole window that receives a request in the lag may be
// stopped. The sleep workflow removes the host rule before it stops the
// instances, so such a request, and any after it, reaches the proxy, which
// wakes the rule again: a restart, never a 503 from stopped targets.
//
// # Calls
//
// Each rule is one MetricDataQuery (Sum of RequestCount for its
// LoadBalancer and TargetGroup dimensions, Period 60 s, Id "r<index>");
// CloudWatch accepts at most 500 per GetMetricData call. Queries sorts the
// queries by window start and cuts them into calls of 500 at most, each
// with one common time range: StartTime the earliest window start of its
// queries, EndTime the end of the current period (so that datapoints already
// visible in the lag are read too); Decide keeps, per rule, only the
// datapoints at or after its own window's start. A watcher run over n rules
// makes ceil(n/500) calls, whatever the mix of idleMinutes (one call per
// distinct window would make up to one call per distinct idleMinutes
// value). GetMetricData is priced per metric read, not per datapoint, so
// the wider range of a shared call costs nothing; it may return more
// datapoints than one response holds (100,800), so the caller follows
// NextToken (cloudwatch.NewGetMetricDataPaginator) and hands Decide the
// results of every page. Sorting by window start puts rules of similar
// idleMinutes in the same call, so a call reads little beyond its windows.
package idle
