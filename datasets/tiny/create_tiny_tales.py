"""Write datasets/tiny/tiny_tales.txt: short stories made from templates, for Modules 10-13.

    python datasets/tiny/create_tiny_tales.py            write tiny_tales.txt beside this script
    python datasets/tiny/create_tiny_tales.py OUT.txt    write it somewhere else

Every word of the file comes from this script: the names, places, objects and sentence
templates below were written for the course, and a small grammar strings them into stories.
Nothing is copied from anywhere, so the project can give it away: the text and this script
are dedicated to the public domain under CC0 1.0
(https://creativecommons.org/publicdomain/zero/1.0/).

Each story has a hero and a friend who keep their names (and pronouns: he/his, she/her)
from the first line to the last, a place, a thing that goes missing or a wish, a search with
dialogue in quotes, and an ending. Stories are separated by one empty line. The file is plain
ASCII: printable characters and '\\n' only, no '\\r', no tabs. It is what a character-level
language model learns from in Milestone 05: spelling, words, "a"/"an", pronouns that agree
with the name, names that come back within a story, quotes and full stops, none of which a
model that sees only the previous character (a bigram model) can know.

The choices come from NumPy's legacy generator, np.random.RandomState(SEED), whose stream
NumPy promises never to change, so every run gives the same bytes, whatever the clock. The
file is written to a temporary file in the same folder and renamed into place, so an
interrupted run leaves no half-written file. It needs NumPy only.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "tiny_tales.txt"
SEED = 10  # changing it changes the text (and the digest the tests record)
MAX_BYTES = 100_000  # the tiny-dataset limit (datasets/tiny/README.md)
TARGET_BYTES = 96_000  # stories are added while the file stays at or under this size

# ----- the word lists ---------------------------------------------------------------------------
HEROES = [("Mia", "she"), ("Tom", "he"), ("Lily", "she"), ("Ben", "he"), ("Anna", "she"),
          ("Sam", "he"), ("Rosa", "she"), ("Max", "he"), ("Ella", "she"), ("Leo", "he"),
          ("Nora", "she"), ("Finn", "he"), ("Ivy", "she"), ("Oscar", "he"), ("Ruby", "she"),
          ("Hugo", "he"), ("Zoe", "she"), ("Jack", "he"), ("Lucy", "she"), ("Eli", "he"),
          ("Maya", "she"), ("Otto", "he"), ("Clara", "she"), ("Noah", "he")]
KINDS = {"she": ["girl", "little girl", "young fox", "small rabbit", "brave mouse", "little duck"],
         "he": ["boy", "little boy", "young bear", "small frog", "brave mouse", "little owl"]}
TRAITS = ["kind", "curious", "shy", "clever", "happy", "busy", "quiet", "brave", "funny",
          "sleepy", "gentle", "old", "proud", "honest"]
PLACES = ["in a small village by the sea", "in a quiet town near the hills",
          "at the edge of a big green forest", "on a farm with a red barn",
          "in a little house by the river", "in a busy city full of bridges",
          "on an island with tall trees", "in a valley full of flowers",
          "near an old windmill", "in a cottage under the mountain"]
OBJECTS = ["red ball", "blue kite", "old key", "yellow hat", "wooden boat", "green cup",
           "little drum", "orange scarf", "silver bell", "toy train", "paper star",
           "warm blanket", "picture book", "purple shell", "shiny coin", "white feather"]
SPOTS = ["under the bed", "behind the door", "in the garden", "by the pond", "under a big tree",
         "in the kitchen", "near the fence", "on the hill", "inside an old box", "by the road",
         "in the tall grass", "under the bridge", "next to the well", "on the roof"]
FOUND_BY = ["a dog", "a cat", "a bird", "the wind", "a goat", "a squirrel", "the rain", "a crow"]
WEATHER = ["The sun was warm.", "It was a windy day.", "It was raining softly.",
           "The sky was grey.", "It was a cold morning.", "The air smelled of flowers.",
           "The snow was falling.", "It was a bright and sunny day."]
FEELINGS = ["sad", "worried", "upset", "lonely", "scared", "cross"]
JOYS = ["happy", "glad", "excited", "proud", "thankful", "surprised"]
WISHES = ["to see the sea", "to fly a kite", "to climb the hill", "to bake a cake",
          "to build a tree house", "to find a shooting star", "to cross the river",
          "to sing in the square", "to plant a garden", "to ride a horse"]
FOODS = ["apple pie", "bread and honey", "warm soup", "cherry cake", "cheese and grapes",
         "pancakes", "carrot stew", "lemon biscuits"]
ENDINGS = ["From that day on, {h} and {f} were the best of friends.",
           "That night, {h} slept with {hp} {obj} close by.",
           "And {h} never lost {hp} {obj} again.",
           "{H_} smiled all the way home.",
           "The next day, {h} and {f} played until the sun went down.",
           "{H_} learned that friends make every problem smaller.",
           "Then they ate {food} together, and it was the best day of the year."]


def article(phrase: str) -> str:
    """'a' or 'an', whichever goes before `phrase`."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


class Story:
    """The choices of one story and the sentences that use them."""

    def __init__(self, rng: np.random.RandomState):
        self.rng = rng
        hero = HEROES[rng.randint(len(HEROES))]
        friend = hero
        while friend == hero:
            friend = HEROES[rng.randint(len(HEROES))]
        self.hero, self.hp = hero[0], {"she": "she", "he": "he"}[hero[1]]
        self.friend, self.fp = friend[0], friend[1]
        self.kind = self.pick(KINDS[hero[1]])
        self.trait = self.pick(TRAITS)
        self.place = self.pick(PLACES)
        self.obj = self.pick(OBJECTS)
        self.food = self.pick(FOODS)

    def pick(self, options):
        return options[self.rng.randint(len(options))]

    def words(self) -> dict:
        pos = {"she": "her", "he": "his"}
        obj_pron = {"she": "her", "he": "him"}
        return dict(h=self.hero, f=self.friend, hs=self.hp, fs=self.fp, hp=pos[self.hp],
                    fp=pos[self.fp], hm=obj_pron[self.hp], fm=obj_pron[self.fp],
                    Hs=self.hp.capitalize(), Fs=self.fp.capitalize(), H_=self.hero,
                    Hp=pos[self.hp].capitalize(), obj=self.obj, food=self.food)

    def say(self, template: str, **extra) -> str:
        return template.format(**self.words(), **extra)

    def opening(self) -> list:
        start = self.pick(["Once upon a time", "Long ago", "One day", "Not long ago",
                           "Once"])
        lines = [f"{start}, there was {article(self.trait + ' ' + self.kind)} named {self.hero}.",
                 self.say("{Hs} lived " + self.place + ".")]
        if self.rng.rand() < 0.6:
            lines.append(self.say("{Hs} had " + article(self.obj) + " that {hs} loved very much."))
        if self.rng.rand() < 0.5:
            lines.append(self.say("{Hp} best friend was {f}."))
        return lines

    def lost_plot(self) -> list:
        feeling, joy = self.pick(FEELINGS), self.pick(JOYS)
        spots = [SPOTS[i] for i in self.rng.permutation(len(SPOTS))[:3]]
        lines = [self.pick(WEATHER),
                 self.say("One morning, {h} could not find {hp} {obj}."),
                 self.say("{Hs} felt " + feeling + "."),
                 self.say(self.pick(['"Where is my {obj}?" asked {h}.',
                                     '"Oh no, my {obj} is gone!" cried {h}.',
                                     '{h} said, "I have lost my {obj}."']))]
        lines.append(self.say("{Hs} looked " + spots[0] + ", but it was not there."))
        if self.rng.rand() < 0.6:
            lines.append(self.say("{Hs} looked " + spots[1] + ", but it was not there either."))
        lines.append(self.say(self.pick(["Then {f} came by.", "Just then, {f} walked up.",
                                         "Soon {f} came to help."])))
        lines.append(self.say(self.pick(['"Why are you {feel}, {h}?" asked {f}.',
                                         '"What is wrong, {h}?" asked {f}.',
                                         '{f} said, "You look {feel}, {h}."']), feel=feeling))
        lines.append(self.say('"I lost my {obj}," said {h}.'))
        lines.append(self.say(self.pick(['"I will help you look," said {f}.',
                                         '"Let us look together," said {f}.',
                                         '"Do not worry, we will find it," said {f}.'])))
        finder = self.pick(FOUND_BY)
        if self.rng.rand() < 0.5:
            lines.append(self.say("They looked " + spots[2] + ", and there it was!"))
        else:
            lines.append(self.say("They saw that " + finder + " had taken the {obj} "
                                  + spots[2] + "."))
        lines.append(self.say("{h} was so " + joy + "."))
        lines.append(self.say(self.pick(['"Thank you, {f}!" said {h}.',
                                         '{h} hugged {f} and said, "Thank you!"',
                                         '"You are a good friend, {f}," said {h}.'])))
        return lines

    def wish_plot(self) -> list:
        wish = self.pick(WISHES)
        joy = self.pick(JOYS)
        lines = [self.say("More than anything, {h} wanted " + wish + "."),
                 self.say(self.pick(['"I can not do it alone," {hs} said.',
                                     '"Will you come with me, {f}?" asked {h}.',
                                     '{h} asked {f}, "Will you help me?"'])),
                 self.say(self.pick(['"Yes, I will help you," said {f}.',
                                     '"Of course," said {f}. "Let us go."',
                                     '{f} thought for a while and said, "Yes."'])),
                 self.pick(WEATHER)]
        if self.rng.rand() < 0.5:
            lines.append(self.say("On the way, {h} felt " + self.pick(FEELINGS)
                                  + ", but {f} held {hp} hand."))
        if self.rng.rand() < 0.5:
            lines.append(self.say("They took {food} in a basket."))
        lines.append(self.say(self.pick(["It was hard, but they did not give up.",
                                         "It took all day, but they kept going.",
                                         "They tried once, then twice, then a third time."])))
        lines.append(self.say("At last, {h} was able " + wish + "."))
        lines.append(self.say("{Hs} felt " + joy + ". " + self.pick(
            ['"We did it!" said {f}.', '"We did it!" said {h}.', '"What a day!" said {f}.'])))
        return lines

    def ending(self) -> list:
        return [self.say(self.pick(ENDINGS))]

    def text(self) -> str:
        plot = self.lost_plot() if self.rng.rand() < 0.55 else self.wish_plot()
        sentences = self.opening() + plot + self.ending()
        return wrap(" ".join(sentences))


def wrap(paragraph: str, width: int = 72) -> str:
    """Break a paragraph into lines of at most `width` characters, between words."""
    lines, line = [], ""
    for word in paragraph.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join(lines + [line])


def build(seed: int = SEED, target: int = TARGET_BYTES) -> str:
    """The whole file: stories separated by an empty line, as long as fits in `target` bytes."""
    rng = np.random.RandomState(seed)
    stories, size = [], 0
    while True:
        story = Story(rng).text()
        extra = len(story) + (2 if stories else 0) + 1  # the separator and the final newline
        if size + extra > target:
            break
        stories.append(story)
        size += extra - 1
    return "\n\n".join(stories) + "\n"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else OUT
    text = build()
    data = text.encode("ascii")
    if len(data) > MAX_BYTES:
        print(f"create_tiny_tales.py: the file would be {len(data)} bytes, over the "
              f"{MAX_BYTES}-byte limit for tiny datasets; nothing written", file=sys.stderr)
        return 1
    write_atomically(out, data)
    stories = text.count("\n\n") + 1
    print(f"wrote {out}: {stories} stories, {len(text)} characters "
          f"({len(set(text))} distinct), {len(data)} bytes")
    print(f"SHA-256 of the file: {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
