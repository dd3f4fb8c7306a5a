package localalb

import (
	"fmt"
	"net/http"
	"strconv"
)

// serverHeader is what the ALB names itself in the answers it makes.
const serverHeader = "awselb/2.0"

// albStatusText is the reason phrase the ALB writes on its own error pages.
func albStatusText(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "Service Temporarily Unavailable"
	case http.StatusGatewayTimeout:
		return "Gateway Time-out"
	case http.StatusRequestEntityTooLarge:
		return "Request Entity Too Large"
	default:
		return http.StatusText(status)
	}
}

// writeError answers with the ALB's own error page for status.
func writeError(w http.ResponseWriter, status int) {
	title := strconv.Itoa(status) + " " + albStatusText(status)
	body := fmt.Sprintf("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", title, title)

	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Server", serverHeader)
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}
