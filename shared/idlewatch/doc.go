// Package idlewatch is the idle watcher (functions/idle-watch): once per
// scheduled run (every minute on AWS, every second on the local backend) it
// reads every AutoStopping rule and
//
//   - puts idle rules to sleep: each running, not broken rule is judged on
//     the RequestCount of its target group (shared/idle: as few GetMetricData
//     calls per region as CloudWatch's 500 queries a call allow, every page
//     read). An idle rule is moved to stopping (rulestore BeginSleep, a
//     conditional write: a rule woken again or changed meanwhile is left
//     alone) and its SleepRule execution started. A dry-run rule changes
//     nothing: the watcher logs "would stop" with the figures it judged on
//     and counts it in the Autostop/WouldStop metric;
//   - reconciles what changed outside autostop, from one DescribeInstances
//     per region (instance-id filter, so a terminated or vanished instance
//     reads as gone instead of failing the call):
//     a stopped rule whose instances were started is woken (WakeRule, which
//     finds them running and switches traffic once they are healthy),
//     unless its last wake failed less than its idle time ago;
//     a running rule whose instances were stopped, or terminated, is put to
//     sleep with that reason (the SleepRule removes its host rule; a
//     terminated instance leaves the rule broken);
//     a running rule whose instances all run but are not all registered
//     with its target group gets a RepairTargets execution;
//     a stopping rule whose SleepRule never started (the watcher died
//     between BeginSleep and StartExecution) gets it started again;
//   - logs every action as one JSON line and returns a Report.
//
// # Idempotence
//
// Runs may overlap (a slow run and the next one) or repeat (a retried
// invocation). Every write is conditional and every execution has a
// deterministic name, so a second run doing the same thing changes nothing:
// a lost BeginSleep or BeginWake starts no execution, and a StartExecution
// whose name exists already (ExecutionAlreadyExists) is the same work,
// already running.
//
//   - SleepRule: "<rule>-<host hash>-sleep-<sleepRequestedAt, unix ms>",
//     input {"host","sleepRequestedAt","reason"} (SleepInput);
//   - RepairTargets: "<rule>-<host hash>-repair-<unix minute>", input
//     {"host","instanceIds"} (RepairInput);
//   - WakeRule: proxymanager.WakeExecutionName, through
//     proxymanager.BeginWake.
//
// # Errors
//
// A failure about one rule (a write, an execution, its target health) is
// logged, counted in Report.Errors and does not stop the others. Run
// returns an error only when it could not list the rules, or could read no
// metrics at all; the rules it could act on have been acted on even then.
package idlewatch
