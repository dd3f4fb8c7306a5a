package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 21: every DynamoDB response, errors included, carries X-Amz-Crc32, the
// CRC32 (IEEE) of its body in decimal. The SDK for Go v2 checks every
// successful response body against it (against 0 when the header is
// missing) and logs "failed to close HTTP response body … response did not
// match expected checksum" when they differ.
func TestGap21DynamoDBResponseCRC32(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}

	recorder := &gap21Recorder{next: http.DefaultClient}
	var logMu sync.Mutex
	var sdkLog strings.Builder
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = recorder
		o.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(&sdkLog, "%s %s\n", c, fmt.Sprintf(format, v...))
		})
	})

	const table = "gap21"
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	}); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": key["pk"], "state": &ddbtypes.AttributeValueMemberS{Value: "running"},
		},
	}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if s, ok := got.Item["state"].(*ddbtypes.AttributeValueMemberS); !ok || s.Value != "running" {
		t.Fatalf("GetItem = %v, want the item put", got.Item)
	}
	_, err = client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       key,
		UpdateExpression:          aws.String("SET #s = :new"),
		ConditionExpression:       aws.String("#s = :old"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":new": &ddbtypes.AttributeValueMemberS{Value: "stopped"}, ":old": &ddbtypes.AttributeValueMemberS{Value: "stopped"}},
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("UpdateItem with a false condition: %v, want ConditionalCheckFailedException", err)
	}

	recorder.mu.Lock()
	responses := recorder.responses
	recorder.mu.Unlock()
	wantOps := []string{"CreateTable", "PutItem", "GetItem", "UpdateItem"}
	if len(responses) != len(wantOps) {
		t.Fatalf("recorded %d responses, want %d (%v)", len(responses), len(wantOps), wantOps)
	}
	for i, resp := range responses {
		if resp.operation != wantOps[i] {
			t.Errorf("response %d is of %s, want %s", i, resp.operation, wantOps[i])
		}
		want := strconv.FormatUint(uint64(crc32.ChecksumIEEE(resp.body)), 10)
		if resp.crc32 != want {
			t.Errorf("%s (HTTP %d): X-Amz-Crc32 = %q, want %s, the CRC32 of its %d-byte body",
				resp.operation, resp.status, resp.crc32, want, len(resp.body))
		}
	}
	if last := responses[len(responses)-1]; last.status != http.StatusBadRequest {
		t.Errorf("the failed UpdateItem answered HTTP %d, want 400", last.status)
	}

	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(sdkLog.String(), "checksum") || strings.Contains(sdkLog.String(), "WARN") {
		t.Errorf("the SDK logged:\n%s", sdkLog.String())
	}
}

type gap21Response struct {
	operation string
	status    int
	crc32     string
	body      []byte
}

// gap21Recorder is the SDK's HTTP client: it keeps a copy of every
// response's X-Amz-Crc32 header and body, and hands the SDK the same bytes.
type gap21Recorder struct {
	next      *http.Client
	mu        sync.Mutex
	responses []gap21Response
}

func (r *gap21Recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	r.mu.Lock()
	defer r.mu.Unlock()
	r.responses = append(r.responses, gap21Response{
		operation: strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810."),
		status:    resp.StatusCode,
		crc32:     resp.Header.Get("X-Amz-Crc32"),
		body:      body,
	})

	return resp, nil
}
