// Command recordfn is a test Lambda function for asynchronous invocations:
// it appends each event it receives, with the time it arrived, as one JSON
// line to the file named by RECORD_FILE.
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, event json.RawMessage) error {
		line, err := json.Marshal(map[string]any{"at": time.Now().Format(time.RFC3339Nano), "event": event})
		if err != nil {
			return err
		}

		f, err := os.OpenFile(os.Getenv("RECORD_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()

		_, err = f.Write(append(line, '\n'))

		return err
	})
}
