package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/autostop/autostop/shared/app"
	execution "github.com/autostop/autostop/shared/history"
	"github.com/autostop/autostop/shared/step"
)

// ExecutionHistory is one execution as `history --output json` prints it:
// the execution, each state it entered (execution.Entry) and, when it did
// not succeed, its rollback.
type ExecutionHistory struct {
	ExecutionARN string    `json:"executionArn"`
	Name         string    `json:"name"`
	StateMachine string    `json:"stateMachine"`
	Status       string    `json:"status"`
	Started      time.Time `json:"started"`
	// Stopped is zero while the execution runs.
	Stopped time.Time `json:"stopped,omitzero"`
	Error   string    `json:"error,omitempty"`
	Cause   string    `json:"cause,omitempty"`
	// States are the states entered, in order (a state entered again, as
	// in a wait loop, has one entry per visit).
	States        []execution.Entry    `json:"states"`
	Rollback      *step.RollbackResult `json:"rollback,omitempty"`
	RollbackError *step.Error          `json:"rollbackError,omitempty"`
}

// historyFlags are the history command's flags.
type historyFlags struct {
	last         int
	stateMachine string
}

func (c *CLI) historyCommand() *cobra.Command {
	var f historyFlags
	cmd := &cobra.Command{
		Use:   "history (EXECUTION | --last N)",
		Short: "Show what a workflow execution did, step by step",
		Long: `Reads an execution's history (every page of GetExecutionHistory) and prints it
as an audit timeline: each state with when it started (from the execution's
start), how long it ran, how often its task was attempted, and what it created,
adopted, updated or deleted (from the step outputs); for a failed execution the
error and what the rollback deleted or left.

EXECUTION is an execution ARN or name; a name is looked up in autostop's state
machines (or only in --state-machine). --last N shows the N most recent
executions of autostop's state machines (or of --state-machine), newest first.

--output json prints the same as data (an object, or an array with --last);
--output mermaid draws the state machine as a Mermaid flowchart with the path
this execution took, retried and failed states marked (paste it into any
Mermaid renderer, or a Markdown file in a mermaid code block).

` + exitCodesHelp,
		Example: `  # the execution 'lb create' printed
  autostop history cli-web-20250102T150405Z-a1b2

  # the last five executions of any autostop workflow, as JSON
  autostop history --last 5 --output json

  # the path of one execution as a flowchart
  autostop history cli-web-20250102T150405Z-a1b2 --output mermaid > path.mmd`,
		Annotations: map[string]string{annotationOutputs: outputMermaid},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return usageErrorf("unexpected argument %q (one execution)", args[1])
			case len(args) == 1 && f.last > 0:
				return usageErrorf("give an execution or --last N, not both")
			case len(args) == 0 && f.last <= 0:
				return usageErrorf("give an execution (ARN or name) or --last N")
			case f.last > 0 && c.global.output == outputMermaid:
				return usageErrorf("--output mermaid draws one execution: give its ARN or name instead of --last")
			}
			if len(args) == 1 {
				return c.historyOf(cmd.Context(), args[0], f.stateMachine)
			}
			return c.historyLast(cmd.Context(), f.last, f.stateMachine)
		},
	}
	cmd.Flags().IntVar(&f.last, "last", 0, "show the N most recent executions")
	cmd.Flags().StringVar(&f.stateMachine, "state-machine", "", "only this state machine (name or ARN; default: every autostop-* state machine)")

	return cmd
}

// historyOf prints one execution.
func (c *CLI) historyOf(ctx context.Context, nameOrARN, stateMachine string) error {
	states, endpoint, err := c.states(ctx)
	if err != nil {
		return err
	}
	arn, err := findExecution(ctx, states, nameOrARN, stateMachine)
	if err != nil {
		return unreachableOr(err, endpoint)
	}
	h, events, err := readExecution(ctx, states, arn)
	if err != nil {
		return failed(err)
	}
	switch c.global.output {
	case outputJSON:
		return c.printJSON(h)
	case outputMermaid:
		definition, err := definitionOf(ctx, states, arn)
		if err != nil {
			return failed(err)
		}
		chart, err := execution.Mermaid(definition, execution.Timeline(events))
		if err != nil {
			return failed(err)
		}
		fmt.Fprint(c.Stdout, chart)
		return nil
	}
	printHistory(c.Stdout, h)

	return nil
}

// historyLast prints the n most recent executions, newest first.
func (c *CLI) historyLast(ctx context.Context, n int, stateMachine string) error {
	states, endpoint, err := c.states(ctx)
	if err != nil {
		return err
	}
	machines, err := candidateMachines(ctx, states, stateMachine)
	if err != nil {
		return unreachableOr(err, endpoint)
	}
	var recent []types.ExecutionListItem
	for _, m := range machines {
		out, err := states.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(m), MaxResults: int32(min(n, 1000))})
		if err != nil {
			return failed(fmt.Errorf("list executions of %s: %w", m, err))
		}
		recent = append(recent, out.Executions...)
	}
	slices.SortStableFunc(recent, func(a, b types.ExecutionListItem) int {
		if c := aws.ToTime(b.StartDate).Compare(aws.ToTime(a.StartDate)); c != 0 {
			return c
		}
		return strings.Compare(aws.ToString(b.Name), aws.ToString(a.Name))
	})
	recent = recent[:min(n, len(recent))]

	all := []ExecutionHistory{}
	for _, e := range recent {
		h, _, err := readExecution(ctx, states, aws.ToString(e.ExecutionArn))
		if err != nil {
			return failed(err)
		}
		all = append(all, h)
	}
	if c.global.output == outputJSON {
		return c.printJSON(all)
	}
	if len(all) == 0 {
		fmt.Fprintln(c.Stdout, "No executions.")
	}
	for i, h := range all {
		if i > 0 {
			fmt.Fprintln(c.Stdout)
		}
		printHistory(c.Stdout, h)
	}

	return nil
}

// unreachableOr wraps a lookup's error: not found (exit 3) stays, others
// fail (exit 1) with a hint when a custom endpoint refused the connection.
func unreachableOr(err error, e Endpoint) error {
	var exit *exitError
	if errors.As(err, &exit) {
		return err
	}

	return failed(unreachable(err, e))
}

// candidateMachines returns the state machine named stateMachine (name or
// ARN), or every state machine whose name starts with autostop's prefix.
func candidateMachines(ctx context.Context, states StepFunctions, stateMachine string) ([]string, error) {
	if stateMachine != "" {
		arn, err := findStateMachine(ctx, states, stateMachine)
		if err != nil {
			return nil, notFound(err)
		}
		return []string{arn}, nil
	}
	var out []string
	err := eachStateMachine(ctx, states, func(name, arn string) bool {
		if strings.HasPrefix(name, app.NamePrefix) {
			out = append(out, arn)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound(errors.New("no autostop state machine in this account and region: deploy autostop first " +
			"(or, on the local backend, run 'make up'), or pass --state-machine NAME|ARN"))
	}

	return out, nil
}

// findExecution returns the ARN of the execution named nameOrARN (an ARN
// is returned as is) among the candidate state machines.
func findExecution(ctx context.Context, states StepFunctions, nameOrARN, stateMachine string) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	machines, err := candidateMachines(ctx, states, stateMachine)
	if err != nil {
		return "", err
	}
	for _, m := range machines {
		arn := strings.Replace(m, ":stateMachine:", ":execution:", 1) + ":" + nameOrARN
		_, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		var missing *types.ExecutionDoesNotExist
		switch {
		case err == nil:
			return arn, nil
		case errors.As(err, &missing):
			continue
		default:
			return "", fmt.Errorf("describe execution %s: %w", arn, err)
		}
	}

	return "", notFound(fmt.Errorf("no execution named %q in %d autostop state machine(s): "+
		"'autostop history --last 10' lists the recent ones", nameOrARN, len(machines)))
}

// readExecution reads an execution and its whole history.
func readExecution(ctx context.Context, states StepFunctions, arn string) (ExecutionHistory, []types.HistoryEvent, error) {
	d, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return ExecutionHistory{}, nil, notFound(fmt.Errorf("no execution %s", arn))
	}
	if err != nil {
		return ExecutionHistory{}, nil, fmt.Errorf("describe execution %s: %w", arn, err)
	}
	var events []types.HistoryEvent
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000, IncludeExecutionData: aws.Bool(true)}
	for {
		out, err := states.GetExecutionHistory(ctx, in)
		if err != nil {
			return ExecutionHistory{}, nil, fmt.Errorf("get execution history of %s: %w", arn, err)
		}
		events = append(events, out.Events...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}

	h := ExecutionHistory{
		ExecutionARN: arn, Name: aws.ToString(d.Name), StateMachine: stateMachineName(aws.ToString(d.StateMachineArn)),
		Status: string(d.Status), Started: aws.ToTime(d.StartDate).UTC(), Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause),
		States: execution.Timeline(events),
	}
	if d.StopDate != nil {
		h.Stopped = d.StopDate.UTC()
	}
	if h.States == nil {
		h.States = []execution.Entry{}
	}
	if d.Status != types.ExecutionStatusSucceeded && d.Status != types.ExecutionStatusRunning {
		h.Rollback, h.RollbackError = rollbackOf(lastStateOutput(events))
	}

	return h, events, nil
}

// lastStateOutput is the output of the last state that exited.
func lastStateOutput(events []types.HistoryEvent) string {
	for _, e := range slices.Backward(events) {
		if e.StateExitedEventDetails != nil {
			return aws.ToString(e.StateExitedEventDetails.Output)
		}
	}

	return ""
}

// definitionOf returns the definition the execution ran
// (DescribeStateMachineForExecution); where that is refused (a role
// without states:DescribeStateMachineForExecution), the state machine's
// current definition, the same unless it was updated since.
func definitionOf(ctx context.Context, states StepFunctions, arn string) (string, error) {
	out, err := states.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: aws.String(arn)})
	if err == nil {
		return aws.ToString(out.Definition), nil
	}
	d, derr := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if derr != nil {
		return "", fmt.Errorf("describe state machine for execution %s: %w", arn, err)
	}
	m, merr := states.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: d.StateMachineArn})
	if merr != nil {
		return "", fmt.Errorf("describe state machine %s: %w (and for the execution: %v)", aws.ToString(d.StateMachineArn), merr, err)
	}

	return aws.ToString(m.Definition), nil
}

func stateMachineName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// printJSON writes v as indented JSON.
func (c *CLI) printJSON(v any) error {
	doc, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return failed(fmt.Errorf("encode JSON: %w", err))
	}
	fmt.Fprintln(c.Stdout, string(doc))

	return nil
}

// printRawJSON writes a JSON document (an execution's output) indented as
// printJSON does, or as it is when it is not JSON.
func (c *CLI) printRawJSON(raw string) {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(raw), "", "  "); err != nil {
		fmt.Fprintln(c.Stdout, raw)
		return
	}
	fmt.Fprintln(c.Stdout, b.String())
}

// printHistory writes one execution's timeline.
func printHistory(w io.Writer, h ExecutionHistory) {
	fmt.Fprintf(w, "Execution %s of %s: %s\n", h.Name, h.StateMachine, h.Status)
	fmt.Fprintf(w, "%sstarted  %s\n", indent, h.Started.Format(time.RFC3339))
	if !h.Stopped.IsZero() {
		fmt.Fprintf(w, "%sstopped  %s (%s)\n", indent, h.Stopped.Format(time.RFC3339), duration(h.Stopped.Sub(h.Started)))
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%sAT\tTOOK\tSTATE\tTYPE\tTRIES\tRESULT\n", indent)
	for i, e := range h.States {
		took, tries := "-", "-"
		if !e.Exited.IsZero() {
			took = duration(e.Duration())
		}
		if e.Attempts > 0 {
			tries = fmt.Sprint(e.Attempts)
		}
		fmt.Fprintf(tw, "%s+%s\t%s\t%s\t%s\t%s\t%s\n", indent, duration(e.Entered.Sub(h.Started)), took, e.State, e.Type, tries, entryResult(h, i))
		for _, r := range e.Resources {
			fmt.Fprintf(tw, "%s\t\t\t\t\t  %s %s %s\n", indent, r.Action, r.Kind, r.ID)
		}
	}
	_ = tw.Flush()

	if h.Status == string(types.ExecutionStatusSucceeded) || h.Status == string(types.ExecutionStatusRunning) {
		return
	}
	printFailure(w, Failure{ExecutionARN: h.ExecutionARN, Status: h.Status, Error: h.Error, Cause: h.Cause,
		Rollback: h.Rollback, RollbackError: h.RollbackError})
}

// entryResult says how the i-th state ended: ok, the next state a Choice
// chose, a failure (or a failure retried).
func entryResult(h ExecutionHistory, i int) string {
	e := h.States[i]
	switch {
	case e.Failed:
		return "failed: " + e.Error + ": " + shorten(causeMessage(e.Cause), maxCauseLen)
	case e.Exited.IsZero() && e.Type == "Fail":
		return "failed the execution"
	case e.Exited.IsZero():
		return "running"
	case e.Error != "":
		return "ok after " + e.Error
	case e.Type == "Choice" && i+1 < len(h.States):
		return "→ " + h.States[i+1].State
	}

	return "ok"
}
