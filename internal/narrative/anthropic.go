package narrative

import (
	"cmp"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/v2/option"
)

// anthropicTool is the tool the model is made to call: its input schema is
// the narrative schema, so the response arrives as a JSON object.
const anthropicTool = "submit_narrative"

// anthropicClient requests the narrative from a Claude model through the
// Messages API. It forces a tool call rather than using the output_config
// JSON format, because tool use works with every Claude model of the
// Messages API and with the proxies that mimic it, while the JSON format
// needs a recent model.
type anthropicClient struct {
	client anthropic.Client
	model  string
}

func newAnthropicClient(model, apiKey, baseURL string, timeout time.Duration, httpClient *http.Client) *anthropicClient {
	opts := []anthropicoption.RequestOption{
		// The configuration decides the key and the endpoint. Without this
		// option the SDK would also read ANTHROPIC_* variables and profile
		// files.
		anthropicoption.WithoutEnvironmentDefaults(),
		anthropicoption.WithAPIKey(apiKey),
		anthropicoption.WithHTTPClient(httpClient),
		anthropicoption.WithMaxRetries(0),
		anthropicoption.WithRequestTimeout(timeout),
	}
	if baseURL != "" {
		opts = append(opts, anthropicoption.WithBaseURL(baseURL))
	}
	return &anthropicClient{client: anthropic.NewClient(opts...), model: model}
}

func (c *anthropicClient) complete(ctx context.Context, p prompt, maxTokens int) (completion, error) {
	schema := narrativeSchema()
	tool := anthropic.ToolParam{
		Name:        anthropicTool,
		Description: anthropic.String("Submit the threat narrative for the operator."),
		InputSchema: anthropic.ToolInputSchemaParam{
			Properties:  schema["properties"],
			Required:    narrativeKeys,
			ExtraFields: map[string]any{"additionalProperties": false},
		},
	}
	choice := anthropic.ToolChoiceParamOfTool(anthropicTool)
	choice.OfTool.DisableParallelToolUse = anthropic.Bool(true)

	msg, err := c.client.Messages.New(ctx, anthropic.MessageNewParams{
		Model:     c.model,
		MaxTokens: int64(maxTokens),
		System: []anthropic.TextBlockParam{{
			Text: p.system + "\n\nSubmit the narrative by calling the " + anthropicTool + " tool.",
		}},
		Messages:   []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(p.user))},
		Tools:      []anthropic.ToolUnionParam{{OfTool: &tool}},
		ToolChoice: choice,
	})
	if err != nil {
		return completion{}, err
	}

	u := msg.Usage
	out := completion{
		stopReason:   string(msg.StopReason),
		inputTokens:  u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		outputTokens: u.OutputTokens,
	}

	// The tool's input is the output. A proxy or a model that responds in
	// text instead is accepted too, and the text is parsed like any other.
	var text strings.Builder
	for _, block := range msg.Content {
		switch block.Type {
		case "tool_use":
			if block.Name == anthropicTool && len(block.Input) > 0 && out.output == nil {
				out.output = block.Input
			}
		case "text":
			text.WriteString(block.Text)
		}
	}
	if out.output == nil {
		out.output = []byte(text.String())
	}

	switch msg.StopReason {
	case anthropic.StopReasonMaxTokens, anthropic.StopReasonModelContextWindowExceeded:
		out.truncated = true
	case anthropic.StopReasonRefusal:
		out.refusal = cmp.Or(strings.TrimSpace(text.String()), "stop reason refusal")
	}
	return out, nil
}
