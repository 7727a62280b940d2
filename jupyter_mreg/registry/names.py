"""Random human-readable version names, `ADJECTIVE_ANIMAL_N`, as snowflake-ml-python generates them."""

from __future__ import annotations

import random

_ADJECTIVES = """able agile amber ancient azure bold brave bright brisk calm clever cosmic crimson crisp curious
daring dapper eager early easy elegant epic fair fancy fast fierce fluffy fond gentle giant glad golden
grand happy hardy honest humble icy jolly keen kind lively loyal lucky lunar magic mellow merry mighty
misty modest neat nimble noble odd olive patient plucky polite proud quick quiet rapid rare ready
regal rosy royal rustic shiny silent silver sleek smart snowy solar spicy steady stellar still stormy
sunny super swift tender tidy tiny topaz tough tranquil trusty upbeat urban vast velvet vivid warm wild
wise witty young zany zealous zen""".split()

_ANIMALS = """albatross alpaca ant badger bat bear beaver bee bison boar buffalo camel caribou cat cheetah
chicken cobra cougar coyote crab crane crow deer dingo dog dolphin donkey dove duck eagle eel elk emu
falcon ferret finch fish flamingo fox frog gazelle gecko gerbil gibbon giraffe gnu goat goose gopher
gorilla hamster hare hawk hedgehog heron hippo horse hyena ibex ibis iguana impala jackal jaguar jay
kangaroo kiwi koala lark lemur leopard lion llama lobster lynx magpie mantis marmot meerkat mink mole
monkey moose moth mouse mule newt octopus okapi orca oryx ostrich otter owl ox panda panther parrot
pelican penguin pigeon puffin puma quail rabbit raccoon raven rhino robin salmon seal shark sheep""".split()


def random_version_name(rng: random.Random | None = None) -> str:
    """A new random name such as `ANCIENT_BADGER_3` (unquoted, so already in identifier form)."""
    rng = rng or random.SystemRandom()
    return f"{rng.choice(_ADJECTIVES)}_{rng.choice(_ANIMALS)}_{rng.randint(1, 4)}".upper()
