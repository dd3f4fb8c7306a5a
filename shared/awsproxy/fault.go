package awsproxy

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// Fault is an AWS error the proxy answers instead of forwarding a call.
type Fault struct {
	Code       string // AWS error code, e.g. "Throttling", "AccessDenied", "InternalFailure"
	Message    string // error message; a default naming the fault is used when empty
	HTTPStatus int    // status code, e.g. 400, 403, 500
}

// Common faults, as AWS services answer them.
var (
	// Throttled is the Query protocol's throttling error (ELBv2, EC2 use
	// "Throttling" / "RequestLimitExceeded"); JSON services answer
	// ThrottlingException. Retried by the SDK's standard retryer.
	Throttled = Fault{Code: "Throttling", Message: "Rate exceeded", HTTPStatus: http.StatusBadRequest}
	// AccessDenied is a permanent authorization failure.
	AccessDenied = Fault{Code: "AccessDenied", Message: "User is not authorized to perform this action", HTTPStatus: http.StatusForbidden}
	// InternalFailure is a server-side error (retried by the SDK).
	InternalFailure = Fault{Code: "InternalFailure", Message: "We encountered an internal error. Please try again.", HTTPStatus: http.StatusInternalServerError}
)

func (f Fault) message() string {
	if f.Message != "" {
		return f.Message
	}

	return "injected fault " + f.Code
}

func (f Fault) status() int {
	if f.HTTPStatus != 0 {
		return f.HTTPStatus
	}

	return http.StatusBadRequest
}

// write answers the request with the fault, encoded in the protocol of op so
// that the AWS SDK maps it to the same error code a real service would.
func (f Fault) write(w http.ResponseWriter, op Operation) {
	errType := "Sender"
	if f.status() >= http.StatusInternalServerError {
		errType = "Receiver"
	}

	w.Header().Set("X-Amzn-RequestId", op.RequestID)

	switch op.Protocol {
	case ProtocolJSON, ProtocolRESTJSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", f.Code)
		w.WriteHeader(f.status())
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": f.Code, "message": f.message()})
	case ProtocolEC2Query:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(f.status())
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>",
			escape(f.Code), escape(f.message()), escape(op.RequestID))
	default: // Query and REST-XML share the ErrorResponse document.
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(f.status())
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>",
			errType, escape(f.Code), escape(f.message()), escape(op.RequestID))
	}
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))

	return b.String()
}
