package localalb

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// serveLambda invokes tg's Lambda target with the ALB event for req and
// answers with the function's response, or with the ALB's error: 400 for a
// WebSocket upgrade, 503 without a target, 413 for a request body over
// 1 MB, 502 when the invocation fails, the function returns an error, or
// its response is over 1 MB or is not a valid ALB response.
func (f *Front) serveLambda(w http.ResponseWriter, req *request, tg *targetGroup) {
	r := req.r
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeError(w, http.StatusBadRequest)
		return
	}
	fn, ok := lambdaTarget(tg)
	if !ok {
		f.log.Info("no Lambda target registered", "targetGroup", tg.arn)
		writeError(w, http.StatusServiceUnavailable)
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, MaxLambdaRequestBody+1))
	if err != nil {
		f.log.Info("read the request body", "error", err)
		writeError(w, http.StatusBadRequest)
		return
	}
	if len(body) > MaxLambdaRequestBody {
		writeError(w, http.StatusRequestEntityTooLarge)
		return
	}

	payload, err := json.Marshal(albEvent(req, tg, body))
	if err != nil {
		f.log.Error("encode the ALB event", "error", err)
		writeError(w, http.StatusInternalServerError)
		return
	}

	out, err := f.clients.Lambda.Invoke(r.Context(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
	if err != nil {
		if r.Context().Err() == nil {
			f.log.Warn("invoke the Lambda target", "function", fn, "targetGroup", tg.arn, "error", err)
		}
		writeError(w, http.StatusBadGateway)
		return
	}
	if out.FunctionError != nil {
		f.log.Warn("the Lambda target returned an error", "function", fn, "functionError", aws.ToString(out.FunctionError),
			"payload", truncate(out.Payload, 512))
		writeError(w, http.StatusBadGateway)
		return
	}
	if len(out.Payload) > MaxLambdaResponse {
		f.log.Warn("the Lambda target's response is over 1 MB", "function", fn, "bytes", len(out.Payload))
		writeError(w, http.StatusBadGateway)
		return
	}

	ans, err := decodeLambdaResponse(out.Payload, tg.multiValue)
	if err != nil {
		f.log.Warn("the Lambda target's response is invalid", "function", fn, "error", err, "payload", truncate(out.Payload, 512))
		writeError(w, http.StatusBadGateway)
		return
	}
	ans.write(w, req)
}

// lambdaTarget is the function ARN (possibly qualified, as
// arn:...:function:name:live) registered in tg. Lambda target health checks
// are off by default (state "unavailable"), and the ALB invokes the
// function whatever its state, except while it is being deregistered.
func lambdaTarget(tg *targetGroup) (string, bool) {
	for _, t := range tg.targets {
		if t.state != types.TargetHealthStateEnumDraining && t.state != types.TargetHealthStateEnumUnused && t.id != "" {
			return t.id, true
		}
	}

	return "", false
}

// lambdaAnswer is a Lambda target's response converted to HTTP.
type lambdaAnswer struct {
	status int
	header http.Header
	body   []byte
}

// decodeLambdaResponse reads the function's response as the ALB does: a
// JSON object with statusCode (200–599), headers (or multiValueHeaders
// when the target group has multi-value headers enabled; the other map is
// ignored), body, and isBase64Encoded when the body is base64.
func decodeLambdaResponse(payload []byte, multiValue bool) (lambdaAnswer, error) {
	var resp events.ALBTargetGroupResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return lambdaAnswer{}, fmt.Errorf("decode the response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 599 {
		return lambdaAnswer{}, fmt.Errorf("statusCode %d is not an HTTP status", resp.StatusCode)
	}

	ans := lambdaAnswer{status: resp.StatusCode, header: http.Header{}, body: []byte(resp.Body)}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return lambdaAnswer{}, fmt.Errorf("decode the base64 body: %w", err)
		}
		ans.body = b
	}

	add := func(k, v string) {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Connection":
			// The front frames the body itself.
		default:
			ans.header.Add(k, v)
		}
	}
	if multiValue {
		for k, vs := range resp.MultiValueHeaders {
			for _, v := range vs {
				add(k, v)
			}
		}
	} else {
		for k, v := range resp.Headers {
			add(k, v)
		}
	}

	return ans, nil
}

// write sends the answer; a Location pointing at the evaluated host is
// localized, and no Content-Type is added when the function set none.
func (a lambdaAnswer) write(w http.ResponseWriter, req *request) {
	h := w.Header()
	for k, vs := range a.header {
		h[k] = vs
	}
	if loc := h.Get("Location"); loc != "" {
		h.Set("Location", req.localizeLocation(loc))
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}

	return string(b[:n]) + "…"
}
