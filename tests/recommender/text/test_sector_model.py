"""The learned sector reader and how it meets the keyword rules of the fact reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.errors import CorruptArtifactError, InvalidInputError
from recommender.text.facts import read_facts
from recommender.text.sector_model import DOUBTED, SectorModel, combine, train_sector_model

TERMS = {
    "fintech": ["فین‌تک", "پرداخت", "کیف پول"],
    "agritech": ["کشاورزی", "گلخانه", "آبیاری"],
    "edtech": ["آموزش", "کلاس"],
}
SLUGS = ["fintech", "agritech", "edtech", "health"]  # no training plan is about health

# Training plans name their domain in words the keyword rules above do not know.
TRAIN = [
    ("اپلیکیشن پس‌انداز خرد و حساب بانکی برای دانشجوها، با اقساط ماهانه.", ["fintech"]),
    ("سامانه اعتبار و اقساط برای خرید کالا؛ حساب بانکی مشتری را وصل می‌کنیم.", ["fintech"]),
    ("پس‌انداز گروهی و صندوق قرض‌الحسنه آنلاین برای خانواده‌ها.", ["fintech"]),
    ("حسابداری شخصی و پس‌انداز هدفمند با اقساط و سود روزشمار.", ["fintech"]),
    ("مزرعه هوشمند و پایش خاک و دام برای روستاها.", ["agritech"]),
    ("فروش مستقیم محصول مزرعه و دام از روستا به شهر.", ["agritech"]),
    ("سنسور رطوبت خاک برای مزرعه‌های گندم و جو و دامداری‌ها.", ["agritech"]),
    ("کود و بذر اصلاح‌شده برای مزرعه و خاک شور.", ["agritech"]),
    ("معلم خصوصی آنلاین برای درس ریاضی دانش‌آموزان مدرسه.", ["edtech"]),
    ("بانک سؤال و آزمون درس‌های مدرسه برای معلم‌ها.", ["edtech"]),
    ("دوره‌های مهارتی و درس‌های کوتاه برای معلم و مدرسه.", ["edtech"]),
    ("مدرسه مجازی با معلم زنده و تکلیف درس روزانه.", ["edtech"]),
    ("اقساط شهریه مدرسه و پس‌انداز برای درس بچه‌ها.", ["fintech", "edtech"]),
]


@pytest.fixture(scope="module")
def model() -> SectorModel:
    texts, labels = zip(*TRAIN, strict=True)
    return train_sector_model(list(texts), [list(x) for x in labels], SLUGS, info={"t": 1})


def test_reads_a_sector_the_keywords_miss(model: SectorModel) -> None:
    text = "ما یه اپ پس‌انداز خرد با حساب بانکی می‌سازیم که اقساط رو خودکار کنه."
    assert read_facts(text, TERMS).sectors.value == ()  # the rules find no keyword
    facts = read_facts(text, TERMS, model)
    assert facts.sectors.value[0] == "fintech"
    probability = model.probabilities(text)["fintech"]
    assert facts.sectors.confidence == pytest.approx(min(0.9, probability), abs=0.01)
    assert model.probabilities(text)["health"] == 0.0  # a sector never seen in training


def test_a_sector_the_plan_denies_is_never_read(model: SectorModel) -> None:
    text = "ما فین‌تک نیستیم و اقساط و پس‌انداز نداریم. سنسور خاک برای مزرعه و دام می‌سازیم."
    facts = read_facts(text, TERMS, model)
    assert "fintech" in facts.not_sectors.value
    assert "fintech" not in facts.sectors.value
    assert facts.sectors.value and facts.sectors.value[0] == "agritech"


def test_the_model_orders_two_keyword_readings(model: SectorModel) -> None:
    # «آموزش» and «پرداخت» are both keywords; the plan is about a school's lessons
    text = "پرداخت ماهانه؛ آموزش درس ریاضی با معلم مدرسه."
    rules = read_facts(text, TERMS).sectors.value
    assert rules == ("fintech", "edtech")
    facts = read_facts(text, TERMS, model)
    assert facts.sectors.value[0] == "edtech"
    assert set(facts.sectors.value) == set(rules)
    assert facts.sectors.confidence == read_facts(text, TERMS).sectors.confidence


def test_facts_keep_their_shape(model: SectorModel) -> None:
    out = read_facts("مزرعه و دام داریم.", TERMS, model).to_dict()
    assert set(out["sectors"]) == {"value", "confidence"}
    assert isinstance(out["sectors"]["value"], list)


def test_combine_rules() -> None:
    probs = {"fintech": 0.9, "agritech": 0.05, "edtech": 0.02}
    # a denied sector is removed even when the model is sure of it
    assert combine((("fintech", "agritech"), 0.7), ["fintech"], probs) == (("agritech",), DOUBTED)
    # a keyword reading the model finds improbable keeps the sector at low confidence
    assert combine((("edtech",), 0.8), [], probs) == (("edtech",), DOUBTED)
    assert combine((("agritech", "fintech"), 0.8), [], probs) == (("fintech", "agritech"), 0.8)
    # nothing from the rules: the model's best, at its probability; nothing when improbable
    assert combine(((), 0.0), [], probs) == (("fintech",), 0.9)
    assert combine(((), 0.0), [], {"fintech": 0.1}) == ((), 0.0)
    assert combine(((), 0.0), ["fintech"], probs) == ((), 0.0)


def test_training_is_deterministic_and_a_saved_model_reads_the_same(
    model: SectorModel, tmp_path: Path
) -> None:
    texts, labels = zip(*TRAIN, strict=True)
    again = train_sector_model(list(texts), [list(x) for x in labels], SLUGS)
    plan = "پس‌انداز برای شهریه مدرسه"
    assert again.probabilities(plan) == model.probabilities(plan)
    model.save(tmp_path / "reader")
    loaded = SectorModel.load(tmp_path / "reader")
    assert loaded.slugs == model.slugs and loaded.info == {"t": 1}
    assert loaded.probabilities(plan) == model.probabilities(plan)


def test_damaged_or_missing_model(model: SectorModel, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SectorModel.load(tmp_path / "nothing")
    folder = model.save(tmp_path / "reader")
    (folder / "sector_model.joblib").write_bytes(b"not a model")
    with pytest.raises(CorruptArtifactError):
        SectorModel.load(folder)


def test_bad_training_input() -> None:
    with pytest.raises(InvalidInputError):
        train_sector_model([], [], SLUGS)
    with pytest.raises(InvalidInputError):
        train_sector_model(["متن"], [["space"]], SLUGS)


def test_the_default_reader_is_built_once_and_kept_in_the_models_folder(
    model: SectorModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training import sector_reader

    built: list[int] = []

    def build() -> SectorModel:
        built.append(1)
        return SectorModel(model.slugs, model.vectorizer, model.classifier,
                           {"recipe": sector_reader.RECIPE,
                            "sklearn": sector_reader._sklearn_version()})

    monkeypatch.setattr(sector_reader, "build_default_sector_model", build)
    first = sector_reader.ensure_sector_model(tmp_path)
    assert (tmp_path / sector_reader.DIRNAME / "meta.json").is_file() and built == [1]
    second = sector_reader.ensure_sector_model(tmp_path)
    assert built == [1]  # loaded, not rebuilt
    plan = "مزرعه و دام"
    assert second.probabilities(plan) == first.probabilities(plan)
    monkeypatch.setattr(sector_reader, "RECIPE", "another-recipe")
    sector_reader.ensure_sector_model(tmp_path)
    assert built == [1, 1]  # a reader built by another recipe is rebuilt
