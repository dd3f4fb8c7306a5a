package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/autostop/autostop/shared/step"
)

// Output is a successful execution's output, as the state machine's last
// state (Provisioned) builds it.
type Output struct {
	Name                string       `json:"name"`
	Domain              string       `json:"domain"`
	Execution           string       `json:"execution"`
	Wildcard            string       `json:"wildcard"`
	LoadBalancerDNSName string       `json:"loadBalancerDnsName"`
	Results             step.Results `json:"results"`
}

// Failure is what --output json prints for an execution that did not
// succeed.
type Failure struct {
	ExecutionARN  string               `json:"executionArn"`
	Status        string               `json:"status"`
	Error         string               `json:"error,omitempty"`
	Cause         string               `json:"cause,omitempty"`
	Rollback      *step.RollbackResult `json:"rollback,omitempty"`
	RollbackError *step.Error          `json:"rollbackError,omitempty"`
	// Alias is where a failed UpdateProxyCode left the proxy's alias.
	Alias *AliasOutcome `json:"alias,omitempty"`
}

// AliasOutcome is where a failed proxy update left the alias the load
// balancer's target group invokes.
type AliasOutcome struct {
	AliasARN string `json:"aliasArn"`
	// Version is the version the alias points at now.
	Version string `json:"version"`
	// Moved: the update had moved the alias to its new version;
	// MovedBack: it was moved back to the version it pointed at before.
	Moved     bool `json:"moved"`
	MovedBack bool `json:"movedBack"`
}

// printSummary writes what a successful execution provisioned.
func printSummary(w io.Writer, out Output) {
	r := out.Results
	if out.Execution != "" {
		fmt.Fprintf(w, "\nLoad balancer %s is ready (execution %s).\n\n", out.Name, out.Execution)
	} else {
		fmt.Fprintf(w, "\nLoad balancer %s is ready.\n\n", out.Name)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s%s\t%s\n", indent, k, v)
		}
	}
	row("DNS name", out.LoadBalancerDNSName)
	row("Wildcard", out.Wildcard)
	if r.LoadBalancer != nil {
		row("Load balancer", r.LoadBalancer.ARN)
	}
	switch c := r.Certificate; {
	case c == nil:
	case c.ARN == "":
		row("Certificate", "none (HTTP only)")
	default:
		row("Certificate", strings.TrimSpace(c.ARN+" "+parens(c.Status)))
	}
	if l := r.Listeners; l != nil {
		row("HTTPS listener", l.HTTPSListenerARN)
		row("HTTP listener", l.HTTPListenerARN)
	}
	if r.ProxyTarget != nil {
		row("Proxy target", r.ProxyTarget.TargetGroupARN)
	}
	_ = tw.Flush()

	records(w, out)
	resources(w, r)
}

// records lists the DNS records autostop wrote in Route 53 and those the
// user must add at another DNS provider.
func records(w io.Writer, out Output) {
	r := out.Results
	var written, toAdd []step.Record
	var validation []step.Record
	if r.Certificate != nil {
		validation = r.Certificate.ValidationRecords
	}
	if r.DNS != nil {
		written = r.DNS.Records
		toAdd = r.DNS.RecordsToAdd
	}
	// With Route 53, the certificate step upserts its validation records;
	// with another DNS provider, the user adds them.
	route53 := len(written) > 0
	if route53 {
		written = append(written, validation...)
	} else {
		toAdd = append(append([]step.Record(nil), validation...), toAdd...)
	}

	if len(written) > 0 {
		fmt.Fprintf(w, "\nRecords written in Route 53:\n")
		recordTable(w, written)
	}
	if len(toAdd) > 0 {
		fmt.Fprintf(w, "\nAdd these records at your DNS provider:\n")
		recordTable(w, toAdd)
	}
}

func recordTable(w io.Writer, records []step.Record) { recordTableAt(w, indent, records) }

// recordTableAt writes one aligned line per record, each after prefix.
func recordTableAt(w io.Writer, prefix string, records []step.Record) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, rec := range records {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\n", prefix, rec.Name, rec.Type, rec.Value)
	}
	_ = tw.Flush()
}

// resources lists every resource the steps report, grouped by action.
func resources(w io.Writer, r step.Results) {
	var all []step.Resource
	if r.LoadBalancer != nil {
		all = append(all, r.LoadBalancer.Resources...)
	}
	if r.ProxyTarget != nil {
		all = append(all, r.ProxyTarget.Resources...)
	}
	if r.Certificate != nil {
		all = append(all, r.Certificate.Resources...)
	}
	if r.Listeners != nil {
		all = append(all, r.Listeners.Resources...)
	}
	if r.DNS != nil {
		all = append(all, r.DNS.Resources...)
	}

	for _, action := range []string{step.Created, step.Updated, step.Adopted} {
		var rows []step.Resource
		for _, res := range all {
			if res.Action == action {
				rows = append(rows, res)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%d):\n", titles[action], len(rows))
		resourceTable(w, rows)
	}
}

var titles = map[string]string{
	step.Created: "Created by this execution",
	step.Updated: "Updated by this execution",
	step.Adopted: "Adopted (existed already, used as is)",
	step.Deleted: "Deleted",
}

// resourceActionTable is resourceTable with each row's action.
func resourceActionTable(w io.Writer, rows []step.Resource) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, res := range rows {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\n", indent, res.Kind, res.ID, res.Action)
	}
	_ = tw.Flush()
}

func resourceTable(w io.Writer, rows []step.Resource) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, res := range rows {
		fmt.Fprintf(tw, "%s%s\t%s\n", indent, res.Kind, res.ID)
	}
	_ = tw.Flush()
}

// printFailure writes why an execution did not succeed and what its
// rollback did.
func printFailure(w io.Writer, f Failure) {
	fmt.Fprintf(w, "\nExecution %s.\n", f.Status)
	if f.Error != "" {
		fmt.Fprintf(w, "%sError: %s\n", indent, f.Error)
	}
	if f.Cause != "" {
		fmt.Fprintf(w, "%sCause: %s\n", indent, causeMessage(f.Cause))
	}
	if rb := f.Rollback; rb != nil {
		// Deleted also lists what the rollback put back (a modified
		// listener: updated) or kept on purpose (a shared permission).
		var deleted, other []step.Resource
		for _, r := range rb.Deleted {
			if r.Action == step.Deleted {
				deleted = append(deleted, r)
			} else {
				other = append(other, r)
			}
		}
		fmt.Fprintf(w, "\nRollback: deleted %d resource(s), %d left.\n", len(deleted), len(rb.Left))
		resourceTable(w, deleted)
		if len(other) > 0 {
			fmt.Fprintf(w, "Put back or kept:\n")
			resourceActionTable(w, other)
		}
		if len(rb.Left) > 0 {
			fmt.Fprintf(w, "Left (created by this execution, not deleted; remove them by hand):\n")
			resourceTable(w, rb.Left)
		}
	}
	if re := f.RollbackError; re != nil {
		fmt.Fprintf(w, "\nRollback incomplete: %s: %s\n", re.Error, causeMessage(re.Cause))
	}
	switch a := f.Alias; {
	case a == nil:
	case a.MovedBack:
		fmt.Fprintf(w, "\nThe alias was moved back: %s points at version %s again.\n", a.AliasARN, a.Version)
	case a.Moved:
		fmt.Fprintf(w, "\nThe alias was NOT moved back: %s points at the new version %s.\n", a.AliasARN, a.Version)
	default:
		fmt.Fprintf(w, "\nThe alias did not move: %s points at version %s, as before.\n", a.AliasARN, a.Version)
	}
}

func parens(s string) string {
	if s == "" {
		return ""
	}

	return "(" + s + ")"
}
