package narrative

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/openai/openai-go/v3"
	openaioption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openaiClient requests the narrative through the Chat Completions API of OpenAI or
// of a compatible server (Ollama, vLLM, LM Studio), with a json_schema
// response format.
type openaiClient struct {
	client openai.Client
	model  string
	// official is set for api.openai.com, which wants max_completion_tokens.
	// Compatible servers get max_tokens, the field that Ollama, vLLM and LM
	// Studio read.
	official bool
}

func newOpenAIClient(model, apiKey, baseURL string, timeout time.Duration, httpClient *http.Client) *openaiClient {
	// NOTE: the OpenAI SDK has no public switch to ignore OPENAI_* variables.
	// The key and the base URL set here replace OPENAI_API_KEY and
	// OPENAI_BASE_URL; OPENAI_ORG_ID, OPENAI_PROJECT_ID and
	// OPENAI_CUSTOM_HEADERS still add their headers.
	opts := []openaioption.RequestOption{
		// An empty key sends no Authorization header, as local servers
		// expect. It also keeps OPENAI_API_KEY away from them.
		openaioption.WithAPIKey(apiKey),
		openaioption.WithHTTPClient(httpClient),
		openaioption.WithMaxRetries(0),
		openaioption.WithRequestTimeout(timeout),
	}
	official := baseURL == ""
	if baseURL != "" {
		opts = append(opts, openaioption.WithBaseURL(baseURL))
		if u, err := url.Parse(baseURL); err == nil && u.Hostname() == "api.openai.com" {
			official = true
		}
	} else {
		opts = append(opts, openaioption.WithBaseURL("https://api.openai.com/v1/"))
	}
	return &openaiClient{client: openai.NewClient(opts...), model: model, official: official}
}

func (c *openaiClient) complete(ctx context.Context, p prompt, maxTokens int) (completion, error) {
	params := openai.ChatCompletionNewParams{
		Model: c.model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(p.system + "\n\nAnswer with one JSON object that matches the response schema, and nothing else."),
			openai.UserMessage(p.user),
		},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
					Name:   "threat_narrative",
					Strict: openai.Bool(true),
					Schema: narrativeSchema(),
				},
			},
		},
	}
	if c.official {
		params.MaxCompletionTokens = openai.Int(int64(maxTokens))
	} else {
		params.MaxTokens = openai.Int(int64(maxTokens))
	}

	res, err := c.client.Chat.Completions.New(ctx, params)
	if err != nil {
		return completion{}, err
	}

	out := completion{
		inputTokens:  res.Usage.PromptTokens,
		outputTokens: res.Usage.CompletionTokens,
	}
	if len(res.Choices) == 0 {
		return out, nil
	}
	choice := res.Choices[0]
	out.stopReason = choice.FinishReason
	out.output = []byte(choice.Message.Content)
	switch {
	case choice.FinishReason == "length":
		out.truncated = true
	case choice.Message.Refusal != "":
		out.refusal = choice.Message.Refusal
	case choice.FinishReason == "content_filter":
		out.refusal = choice.FinishReason
	}
	return out, nil
}
