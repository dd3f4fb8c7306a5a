// Package dnstest is a fake Route 53 for unit tests, with the AWS behaviour
// the steps depend on: names returned lower-case with a trailing dot and "*"
// as "\052", listing in Route 53's order from StartRecordName with paging,
// atomic change batches that reject a record named twice, a CREATE of an
// existing record, a DELETE that does not match exactly, and a CNAME beside
// other types; changes PENDING until GetChange was called SyncAfter times.
package dnstest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// Route53 is the fake. The zero value has no zones; use New.
type Route53 struct {
	mu    sync.Mutex
	zones map[string][]r53types.ResourceRecordSet
	// PageSize is ListResourceRecordSets' page size (default 300).
	PageSize int
	// SyncAfter is how many GetChange calls a change stays PENDING for.
	SyncAfter int
	// Fail makes the named operation fail with the error, once per entry.
	Fail map[string][]error
	// BeforeChange, when set, runs once before the next
	// ChangeResourceRecordSets is applied (to simulate a racing writer).
	BeforeChange func(f *Route53)
	// BeforeList, when set, sees every ListResourceRecordSets call before
	// it is answered; an error it returns fails the call (to check which
	// pages a caller reads).
	BeforeList func(in *route53.ListResourceRecordSetsInput) error

	changes map[string]int // change ID → GetChange calls so far
	calls   []string
}

// New returns a fake with the given (empty) hosted zones.
func New(zoneIDs ...string) *Route53 {
	f := &Route53{zones: map[string][]r53types.ResourceRecordSet{}, changes: map[string]int{}, Fail: map[string][]error{}}
	for _, z := range zoneIDs {
		f.zones[zoneKey(z)] = nil
	}

	return f
}

// Calls returns the operations called so far.
func (f *Route53) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()

	return slices.Clone(f.calls)
}

// Mutating counts the calls that change something.
func (f *Route53) Mutating() int {
	n := 0
	for _, c := range f.Calls() {
		if c == "ChangeResourceRecordSets" {
			n++
		}
	}

	return n
}

// Put stores a record set as is (a record someone else wrote).
func (f *Route53) Put(zone string, rrs r53types.ResourceRecordSet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(zoneKey(zone), rrs)
}

func (f *Route53) putLocked(zone string, rrs r53types.ResourceRecordSet) {
	rrs.Name = aws.String(awsName(aws.ToString(rrs.Name)))
	sets := f.zones[zone]
	if i := index(sets, aws.ToString(rrs.Name), rrs.Type); i >= 0 {
		sets[i] = rrs
	} else {
		sets = append(sets, rrs)
	}
	slices.SortFunc(sets, func(a, b r53types.ResourceRecordSet) int {
		if c := strings.Compare(sortKey(aws.ToString(a.Name)), sortKey(aws.ToString(b.Name))); c != 0 {
			return c
		}

		return strings.Compare(string(a.Type), string(b.Type))
	})
	f.zones[zone] = sets
}

// Records returns the zone's record sets, in Route 53's order.
func (f *Route53) Records(zone string) []r53types.ResourceRecordSet {
	f.mu.Lock()
	defer f.mu.Unlock()

	return slices.Clone(f.zones[zoneKey(zone)])
}

// Get returns the record set of that name and type, or nil.
func (f *Route53) Get(zone, name string, typ r53types.RRType) *r53types.ResourceRecordSet {
	for _, rrs := range f.Records(zone) {
		if aws.ToString(rrs.Name) == awsName(name) && rrs.Type == typ {
			return &rrs
		}
	}

	return nil
}

func (f *Route53) fail(op string) error {
	f.calls = append(f.calls, op)
	if errs := f.Fail[op]; len(errs) > 0 {
		f.Fail[op] = errs[1:]

		return errs[0]
	}

	return nil
}

// ListResourceRecordSets lists from StartRecordName, PageSize at a time.
func (f *Route53) ListResourceRecordSets(_ context.Context, in *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("ListResourceRecordSets"); err != nil {
		return nil, err
	}
	if f.BeforeList != nil {
		if err := f.BeforeList(in); err != nil {
			return nil, err
		}
	}
	sets, ok := f.zones[zoneKey(aws.ToString(in.HostedZoneId))]
	if !ok {
		return nil, &r53types.NoSuchHostedZone{Message: aws.String("no such zone " + aws.ToString(in.HostedZoneId))}
	}
	start := 0
	if in.StartRecordName != nil {
		key := sortKey(awsName(*in.StartRecordName))
		start = len(sets)
		for i, rrs := range sets {
			k := sortKey(aws.ToString(rrs.Name))
			if k > key || (k == key && string(rrs.Type) >= string(in.StartRecordType)) {
				start = i

				break
			}
		}
	}
	size := f.PageSize
	if size <= 0 {
		size = 300
	}
	end := min(start+size, len(sets))
	out := &route53.ListResourceRecordSetsOutput{ResourceRecordSets: slices.Clone(sets[start:end])}
	if end < len(sets) {
		out.IsTruncated = true
		out.NextRecordName = sets[end].Name
		out.NextRecordType = sets[end].Type
	}

	return out, nil
}

// ChangeResourceRecordSets applies a batch atomically, as Route 53 does.
func (f *Route53) ChangeResourceRecordSets(_ context.Context, in *route53.ChangeResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	f.mu.Lock()
	if err := f.fail("ChangeResourceRecordSets"); err != nil {
		f.mu.Unlock()

		return nil, err
	}
	if hook := f.BeforeChange; hook != nil {
		f.BeforeChange = nil
		f.mu.Unlock()
		hook(f)
		f.mu.Lock()
	}
	defer f.mu.Unlock()

	zone := zoneKey(aws.ToString(in.HostedZoneId))
	sets, ok := f.zones[zone]
	if !ok {
		return nil, &r53types.NoSuchHostedZone{Message: aws.String("no such zone")}
	}
	work := slices.Clone(sets)
	seen := map[string]bool{}
	invalid := func(format string, a ...any) error {
		return &r53types.InvalidChangeBatch{Message: aws.String(fmt.Sprintf(format, a...))}
	}
	for _, ch := range in.ChangeBatch.Changes {
		rrs := *ch.ResourceRecordSet
		name := awsName(aws.ToString(rrs.Name))
		rrs.Name = aws.String(name)
		key := name + " " + string(rrs.Type)
		if seen[key] {
			return nil, invalid("The request contains an invalid set of changes for a resource record set '%s %s'", rrs.Type, name)
		}
		seen[key] = true
		i := index(work, name, rrs.Type)
		switch ch.Action {
		case r53types.ChangeActionCreate:
			if i >= 0 {
				return nil, invalid("Tried to create resource record set [name='%s', type='%s'] but it already exists", name, rrs.Type)
			}
			fallthrough
		case r53types.ChangeActionUpsert:
			for _, other := range work {
				if aws.ToString(other.Name) == name && other.Type != rrs.Type && (other.Type == r53types.RRTypeCname || rrs.Type == r53types.RRTypeCname) {
					return nil, invalid("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name", name)
				}
			}
			if i >= 0 {
				work[i] = rrs
			} else {
				work = append(work, rrs)
			}
		case r53types.ChangeActionDelete:
			if i < 0 || !sameSet(work[i], rrs) {
				return nil, invalid("Tried to delete resource record set [name='%s', type='%s'] but it was not found", name, rrs.Type)
			}
			work = slices.Delete(work, i, i+1)
		}
	}
	f.zones[zone] = nil
	for _, rrs := range work {
		f.putLocked(zone, rrs)
	}
	if f.zones[zone] == nil {
		f.zones[zone] = []r53types.ResourceRecordSet{}
	}

	id := fmt.Sprintf("/change/C%04d", len(f.changes)+1)
	f.changes[id] = 0
	status := r53types.ChangeStatusPending
	if f.SyncAfter < 0 {
		status = r53types.ChangeStatusInsync
	}

	return &route53.ChangeResourceRecordSetsOutput{ChangeInfo: &r53types.ChangeInfo{Id: aws.String(id), Status: status}}, nil
}

// GetChange reports PENDING until it was asked SyncAfter times.
func (f *Route53) GetChange(_ context.Context, in *route53.GetChangeInput, _ ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("GetChange"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.Id)
	if !strings.HasPrefix(id, "/change/") {
		id = "/change/" + id
	}
	n, ok := f.changes[id]
	if !ok {
		return nil, &r53types.NoSuchChange{Message: aws.String("no such change " + id)}
	}
	f.changes[id] = n + 1
	status := r53types.ChangeStatusPending
	if n+1 >= f.SyncAfter {
		status = r53types.ChangeStatusInsync
	}

	return &route53.GetChangeOutput{ChangeInfo: &r53types.ChangeInfo{Id: aws.String(id), Status: status}}, nil
}

// awsName is a name as Route 53 returns it.
func awsName(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	name = strings.ReplaceAll(name, "*", `\052`)

	return name + "."
}

// sortKey orders names as Route 53 does: by labels from the right, each
// followed by a dot, compared on the characters ("*", not "\052", so a
// wildcard sorts before the other names below its parent).
func sortKey(name string) string {
	labels := strings.Split(strings.TrimSuffix(strings.ReplaceAll(name, `\052`, "*"), "."), ".")
	slices.Reverse(labels)

	return strings.Join(labels, ".") + "."
}

func zoneKey(id string) string { return strings.TrimPrefix(id, "/hostedzone/") }

func index(sets []r53types.ResourceRecordSet, name string, typ r53types.RRType) int {
	return slices.IndexFunc(sets, func(r r53types.ResourceRecordSet) bool {
		return aws.ToString(r.Name) == name && r.Type == typ
	})
}

// sameSet reports whether a DELETE names the record set exactly.
func sameSet(have, del r53types.ResourceRecordSet) bool {
	if (have.AliasTarget == nil) != (del.AliasTarget == nil) {
		return false
	}
	if have.AliasTarget != nil {
		return strings.EqualFold(strings.TrimSuffix(aws.ToString(have.AliasTarget.DNSName), "."), strings.TrimSuffix(aws.ToString(del.AliasTarget.DNSName), ".")) &&
			aws.ToString(have.AliasTarget.HostedZoneId) == aws.ToString(del.AliasTarget.HostedZoneId)
	}
	if aws.ToInt64(have.TTL) != aws.ToInt64(del.TTL) || len(have.ResourceRecords) != len(del.ResourceRecords) {
		return false
	}
	for i := range have.ResourceRecords {
		if aws.ToString(have.ResourceRecords[i].Value) != aws.ToString(del.ResourceRecords[i].Value) {
			return false
		}
	}

	return true
}
