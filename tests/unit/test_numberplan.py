"""Dialled digits → E.164 and the tariff category, as a Beijing operator sees them."""

import pytest

from rating.numberplan import DialPlan, InvalidNumber, classify, to_e164

BEIJING = DialPlan()  # country 86, home area 10, trunk 0, international 00


@pytest.mark.parametrize(
    "dialled",
    ["62345678", "010 6234 5678", "01062345678", "+86 10 6234 5678", "00861062345678"],
)
def test_a_beijing_fixed_line_is_local_however_it_is_dialled(dialled):
    dest = classify(dialled, BEIJING)
    assert (dest.e164, dest.category, dest.area, dest.region) == (
        "+861062345678",
        "local",
        "10",
        "CN",
    )


@pytest.mark.parametrize(
    ("dialled", "e164", "area"),
    [
        ("02112345678", "+862112345678", "21"),  # Shanghai
        ("075512345678", "+8675512345678", "755"),  # Shenzhen
        ("020-1234-5678", "+862012345678", "20"),  # Guangzhou
    ],
)
def test_another_chinese_area_with_trunk_prefix_is_national(dialled, e164, area):
    dest = classify(dialled, BEIJING)
    assert (dest.e164, dest.category, dest.area) == (e164, "national", area)


def test_the_callers_own_area_overrides_the_plans_home_area():
    # The same Shanghai number is local for a Shanghai caller, national for Beijing.
    assert classify("02112345678", BEIJING, caller_area="021").category == "local"
    assert classify("12345678", BEIJING, caller_area="21").e164 == "+862112345678"
    # A Beijing number seen from Shenzhen is long distance.
    assert classify("01062345678", BEIJING, caller_area="755").category == "national"


@pytest.mark.parametrize(
    "dialled", ["13800138000", "013800138000", "+8613800138000", "0086 138 0013 8000"]
)
def test_a_mobile_is_mobile_with_or_without_trunk_or_country_prefix(dialled):
    dest = classify(dialled, BEIJING)
    assert (dest.e164, dest.category, dest.area) == ("+8613800138000", "mobile", None)


@pytest.mark.parametrize("dialled", ["13912345678", "18612345678", "19912345678"])
def test_mobile_ranges_139_186_199_are_mobile(dialled):
    assert classify(dialled, BEIJING).category == "mobile"


@pytest.mark.parametrize(
    ("dialled", "region"),
    [
        ("0085221234567", "HK"),  # Hong Kong fixed
        ("+852 9123 4567", "HK"),  # Hong Kong mobile
        ("0085328212345", "MO"),  # Macau fixed
        ("+85366123456", "MO"),  # Macau mobile
        ("00886221234567", "TW"),  # Taipei
        ("+886912345678", "TW"),  # Taiwan mobile
    ],
)
def test_hong_kong_macau_and_taiwan_are_hmt(dialled, region):
    dest = classify(dialled, BEIJING)
    assert (dest.category, dest.region) == ("hmt", region)


@pytest.mark.parametrize(
    ("dialled", "e164", "region", "area"),
    [
        ("0012125550123", "+12125550123", "US", "212"),  # New York
        ("+1 212 555 0123", "+12125550123", "US", "212"),
        ("00442079460000", "+442079460000", "GB", "20"),  # London
        ("+447400123456", "+447400123456", "GB", None),  # UK mobile
    ],
)
def test_foreign_numbers_are_international(dialled, e164, region, area):
    dest = classify(dialled, BEIJING)
    assert (dest.e164, dest.category, dest.region, dest.area) == (
        e164,
        "international",
        region,
        area,
    )


@pytest.mark.parametrize(
    ("dialled", "e164"),
    [
        ("110", "+86110"),  # police
        ("119", "+86119"),  # fire
        ("120", "+86120"),  # ambulance
        ("122", "+86122"),  # traffic accidents
        ("10086", "+8610086"),  # China Mobile service
        ("10010", "+8610010"),  # China Unicom service
        ("95588", "+8695588"),  # a bank's 95xxx line
        ("4008123456", "+864008123456"),  # 400 shared-cost service number
        ("08008123456", "+868008123456"),  # 800 free phone
        ("+86110", "+86110"),
    ],
)
def test_emergency_short_and_service_numbers_are_special(dialled, e164):
    dest = classify(dialled, BEIJING)
    assert (dest.e164, dest.category) == (e164, "special")


def test_a_deployment_can_name_its_own_short_numbers_special():
    # A switch-internal 4-digit service code is not a number by default …
    with pytest.raises(InvalidNumber):
        classify("8888", BEIJING)
    # … but a deployment that lists it gets it rated as special.
    plan = DialPlan(special_patterns=(r"8888",))
    assert classify("8888", plan).category == "special"
    # Replacing the default patterns drops 1xxxx codes that phonenumbers does not know.
    assert classify("12580", BEIJING).category == "special"
    with pytest.raises(InvalidNumber):
        classify("12580", plan)


def test_a_shanghai_operator_sees_beijing_as_national_and_shanghai_as_local():
    shanghai = DialPlan(home_area="21")
    assert classify("62345678", shanghai).e164 == "+862162345678"
    assert classify("62345678", shanghai).category == "local"
    assert classify("01062345678", shanghai).category == "national"


@pytest.mark.parametrize(
    ("dialled", "words"),
    [
        ("", "not a dialled number"),
        ("abc", "not a dialled number"),
        ("138-0013-800x", "not a dialled number"),
        ("++8613800138000", "not a dialled number"),
        ("1234567", "neither a local number"),  # too short for Beijing, not a mobile
        ("0211234", "not a valid number"),  # too short for Shanghai
        ("+1 212 555", "not a valid number"),
        ("0", "not a valid number"),
        ("00999123456", "not a valid number"),  # no such country code
    ],
)
def test_invalid_numbers_raise_invalid_number_with_a_clear_message(dialled, words):
    with pytest.raises(InvalidNumber, match=words):
        classify(dialled, BEIJING)


def test_invalid_number_is_a_value_error_so_callers_can_treat_it_as_bad_input():
    assert issubclass(InvalidNumber, ValueError)


def test_a_dial_plan_refuses_a_non_numeric_setting():
    with pytest.raises(ValueError, match="home_area"):
        DialPlan(home_area="ten")


# --- numbers the metadata does not list (ranges newer than the metadata) -----------------------


@pytest.mark.parametrize(
    ("dialled", "e164", "category"),
    [
        ("00853 4812 3456", "+85348123456", "hmt"),  # a Macau range the metadata lacks
        ("+853 4812 3456", "+85348123456", "hmt"),
        ("0081 90 1234 56789", "+8190123456789", "international"),  # a Japanese mobile one digit long
        ("0049 151 234567890", "+49151234567890", "international"),
    ],
)
def test_a_possible_number_the_metadata_does_not_list_is_placed_by_its_country_code(dialled, e164, category):
    destination = classify(dialled, BEIJING)
    assert (destination.e164, destination.category, destination.area) == (e164, category, None)


@pytest.mark.parametrize("dialled", ["00853 481", "+44 7911 1234 5678", "0081 9", "0211234"])
def test_an_impossible_number_is_still_refused(dialled):
    with pytest.raises(InvalidNumber):
        classify(dialled, BEIJING)


def test_there_is_one_normaliser_and_it_agrees_with_classify():
    # Regression: the edges had their own normaliser that read "62345678" as +8662345678
    # and accepted the too-short mobile 1380013800 that the switch hooks refuse.
    from ringledger.phones import to_e164 as edge_to_e164
    from ledger.errors import InvalidRequest

    for dialled in ("62345678", "13800138000", "+86 138 0013 8000", "01062345678", "110", "00852 2123 4567"):
        assert edge_to_e164(dialled) == to_e164(dialled) == classify(dialled, BEIJING).e164
    assert to_e164("62345678") == "+861062345678"
    assert to_e164("110") == "+86110"  # short service numbers keep +86
    with pytest.raises(InvalidNumber):
        to_e164("1380013800")
    with pytest.raises(InvalidRequest):
        edge_to_e164("1380013800")
