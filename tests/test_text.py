"""congress.text: the Vietnamese collation names are listed in, and the folding search uses."""
from __future__ import annotations

import unicodedata

from congress.text import fold, vi_sort_key


def ordered(*names: str) -> list[str]:
    return sorted(names, key=vi_sort_key)


def test_letters_follow_the_vietnamese_alphabet_not_code_points():
    # by code point "Á" (U+00C1) and "Đ" (U+0110) come after every plain letter
    assert sorted(["Xã Việt Hòa", "Xã Ái Quốc"]) == ["Xã Việt Hòa", "Xã Ái Quốc"]
    assert ordered("Xã Việt Hòa", "Xã Ái Quốc") == ["Xã Ái Quốc", "Xã Việt Hòa"]
    assert ordered("Phường Đồ Sơn", "Phường Gia Viên", "Phường Dương Kinh") == [
        "Phường Dương Kinh", "Phường Đồ Sơn", "Phường Gia Viên"]
    alphabet = "a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y".split()
    assert ordered(*reversed(alphabet)) == alphabet
    # a letter with a mark is its own letter: every "ă..." after every "a..."
    assert ordered("ăn", "az", "âm", "ay") == ["ay", "az", "ăn", "âm"]
    assert ordered("ươn", "uy", "ôm", "oz", "ơi") == ["oz", "ôm", "ơi", "uy", "ươn"]


def test_tones_only_break_ties_in_dictionary_order():
    # none, huyền, hỏi, ngã, sắc, nặng
    assert ordered("mạ", "má", "mã", "mả", "mà", "ma") == ["ma", "mà", "mả", "mã", "má", "mạ"]
    # the letters decide before any tone: "Ân Thi" (â) after "An Thịnh" (a)
    assert ordered("Ân Thi", "An Thịnh", "Anh Sơn") == ["An Thịnh", "Anh Sơn", "Ân Thi"]
    assert ordered("Hòa Bình", "Hoa Động", "Hóa Bình") == ["Hòa Bình", "Hóa Bình", "Hoa Động"]


def test_case_insensitive_and_independent_of_normalisation():
    assert vi_sort_key("ái quốc")[:2] == vi_sort_key("ÁI QUỐC")[:2] == vi_sort_key("Ái Quốc")[:2]
    assert ordered("an Lão", "An Hải", "AN KHÁNH") == ["An Hải", "AN KHÁNH", "an Lão"]
    decomposed = unicodedata.normalize("NFD", "Xã Ái Quốc")
    assert vi_sort_key(decomposed) == vi_sort_key("Xã Ái Quốc")
    # equal but for case: a total order all the same, lower case first
    assert ordered("An Phú", "an phú") == ["an phú", "An Phú"]


def test_spaces_and_digits_come_before_letters():
    assert ordered("Anh Dũng", "An Lão") == ["An Lão", "Anh Dũng"]
    assert ordered("Tổ 10", "Tổ 2", "Tổ A") == ["Tổ 10", "Tổ 2", "Tổ A"]
    assert vi_sort_key("") < vi_sort_key("a")


def test_fold_is_for_search():
    assert fold("Tứ Minh") == "tu minh" and fold("Đồ Sơn") == "do son"
