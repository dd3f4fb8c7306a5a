package idlewatch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autostop/autostop/shared/idle"
	"github.com/autostop/autostop/shared/rulestore"
)

// MaxDatumsPerCall is CloudWatch's limit of MetricData in one
// PutMetricData call.
const MaxDatumsPerCall = 1000

// judged is the idle decision on a region's running rules.
type judged struct {
	decisions []idle.Decision
	// read[i]: items[i]'s window was read (its call answered, every page).
	read []bool
	// tried and ok count the GetMetricData calls (each with its pages).
	tried, ok int
}

// judge reads the RequestCount of the rules (idle.Queries: as few calls as
// the 500-query limit allows, every page of each) and decides which are
// idle. A call that fails leaves its rules not idle, logged and counted.
func (r *run) judge(ctx context.Context, region string, cw CloudWatch, items []rulestore.Item) judged {
	j := judged{read: make([]bool, len(items))}
	var results []cwtypes.MetricDataResult
	for _, b := range idle.Queries(items, r.now, r.w.cfg.Idle) {
		j.tried++
		res, pages, err := readAll(ctx, cw, b.Input)
		if err != nil {
			r.record(ctx, failed(Action{Region: region, Action: ActionReadMetrics},
				fmt.Sprintf("the requests of %d rules could not be read: they are not judged in this run", len(b.Items)), err))
			continue
		}
		j.ok++
		results = append(results, res...)
		for _, i := range b.Items {
			j.read[i] = true
		}
		r.w.log.DebugContext(ctx, "metrics read", "region", region, "queries", len(b.Items), "pages", pages,
			"start", aws.ToTime(b.Input.StartTime), "end", aws.ToTime(b.Input.EndTime))
	}
	j.decisions = idle.Decide(items, results, r.now, r.w.cfg.Idle)

	return j
}

// readAll makes one GetMetricData call, following NextToken through every
// page.
func readAll(ctx context.Context, cw CloudWatch, in *cloudwatch.GetMetricDataInput) ([]cwtypes.MetricDataResult, int, error) {
	var results []cwtypes.MetricDataResult
	p := cloudwatch.NewGetMetricDataPaginator(cw, in)
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, pages, fmt.Errorf("get metric data (%d queries from %s, page %d): %w",
				len(in.MetricDataQueries), aws.ToTime(in.StartTime).Format(time.RFC3339), pages+1, err)
		}
		pages++
		results = append(results, out.MetricDataResults...)
	}

	return results, pages, nil
}

// wouldStopDatum counts one idle dry-run rule.
func wouldStopDatum(it rulestore.Item, now time.Time) cwtypes.MetricDatum {
	return cwtypes.MetricDatum{
		MetricName: aws.String(WouldStopMetric),
		Dimensions: []cwtypes.Dimension{{Name: aws.String(RuleDimension), Value: aws.String(it.Rule.Name)}},
		Timestamp:  aws.Time(now),
		Value:      aws.Float64(1),
		Unit:       cwtypes.StandardUnitCount,
	}
}

// putWouldStop publishes a region's WouldStop datums, MaxDatumsPerCall a
// call; a failed call is logged and counted.
func (r *run) putWouldStop(ctx context.Context, region string, cw CloudWatch, datums []cwtypes.MetricDatum) {
	for chunk := range slices.Chunk(datums, MaxDatumsPerCall) {
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
			Namespace:  aws.String(r.w.cfg.MetricNamespace),
			MetricData: chunk,
		})
		if err != nil {
			r.record(ctx, failed(Action{Region: region, Action: ActionPutMetrics},
				fmt.Sprintf("%d %s/%s datums of dry-run rules were not published", len(chunk), r.w.cfg.MetricNamespace, WouldStopMetric),
				fmt.Errorf("put metric data: %w", err)))
		}
	}
}
